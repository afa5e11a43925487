/** Is the target reachable at all? A run that cannot connect should say so in seconds, not time out per user. */
import { connect } from 'node:net';
import type { AgentTarget } from '../agents/types.js';

export function probeTcp(target: AgentTarget, timeoutMs = 3000): Promise<string | undefined> {
  if (target.transport === 'udp') return Promise.resolve(undefined);
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
