/** Is the target reachable at all? A run that cannot connect should say so in seconds, not time out per user. */
import { connect } from 'node:net';
import { AgentError, type AgentTarget, type ProtocolModule } from '../protocols/types.js';
import { EXIT, UserFacingError } from '../exit-codes.js';

/** Undefined when the target answers, else the problem, in words. */
export async function probeTarget(target: AgentTarget, protocol: ProtocolModule, timeoutMs = 3000): Promise<string | undefined> {
  if (target.transport !== 'udp') return probeTcp(target, timeoutMs);
  try {
    // A protocol without a datagram probe cannot be checked before its users try.
    return await protocol.probeDatagram?.(target, timeoutMs);
  } catch (error) {
    if (error instanceof AgentError && error.kind === 'config-error') throw new UserFacingError(`target ${target.name}: ${error.message}`, EXIT.badInput);
    throw error;
  }
}

function probeTcp(target: AgentTarget, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    function finish(problem: string | undefined) {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    }
    socket.once('connect', () => finish(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ECONNREFUSED' ? 'connection refused' : error.code === 'ENOTFOUND' ? 'host name not found' : error.message),
    );
  });
}
