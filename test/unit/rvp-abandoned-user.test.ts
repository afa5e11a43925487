/**
 * A user the engine gave up on (`destroy` after a logon or logoff timeout) still has requests
 * in the shared pool. When they fail later, that is not a new error: the engine already counted
 * the timeout. A user still in play gets the same failure thrown — and only thrown: the engine
 * counts the failed logon once, so the agent does not report it as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { rvpProtocol } from '../../src/protocols/rvp/index.js';
import type { VuEvents } from '../../src/protocols/types.js';

function recordingEvents(errors: string[]): VuEvents {
  return {
    bytes: () => {},
    message: () => {},
    presence: () => {},
    error: (kind) => errors.push(kind),
    disconnected: () => {},
    note: () => {},
    metric: () => {},
  };
}

test('agent: a timed-out request is thrown, not also reported; an abandoned user\'s late failures count nothing', async () => {
  // A server that accepts and never answers: every request ends in the client's timeout.
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const agent = await rvpProtocol.createAgent({
    name: 'silent', protocol: 'rvp', host: '127.0.0.1', port, transport: 'tcp', domain: 'im.test', options: { requestTimeoutMs: 200 },
  });
  const abandonedErrors: string[] = [];
  const activeErrors: string[] = [];
  const abandoned = agent.createUser({ index: 1, name: 'ann', contacts: [], channels: [] }, recordingEvents(abandonedErrors));
  const active = agent.createUser({ index: 2, name: 'bob', contacts: [], channels: [] }, recordingEvents(activeErrors));
  try {
    const abandonedLogon = abandoned.logon();
    const activeLogon = active.logon();
    abandoned.destroy();
    await assert.rejects(abandonedLogon, (error: Error & { kind?: string }) => error.kind === 'logon-timeout');
    await assert.rejects(activeLogon, (error: Error & { kind?: string }) => error.kind === 'logon-timeout');
    assert.deepEqual(activeErrors, [], 'a user still in play gets its timeout thrown, for the engine to count once');
    assert.deepEqual(abandonedErrors, [], 'the abandoned user reports nothing more');
  } finally {
    active.destroy();
    await agent.close();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});
