/**
 * A hostile or broken server never crashes a virtual user: any bytes, then a close. (A scripted
 * local socket stands in for the server: this is a unit test of the client's robustness.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import fc from 'fast-check';
import { ircProtocol } from '../../src/protocols/irc/index.js';
import type { VuEvents } from '../../src/protocols/types.js';

function scriptedServer(): Promise<{ server: Server; port: number; next: (payload: Uint8Array) => void }> {
  let payload: Uint8Array = new Uint8Array();
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end(payload);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0, next: (p) => (payload = p) });
    }),
  );
}

test('property: any bytes from the server end in a clean failure, never an exception', async () => {
  const { server, port, next } = await scriptedServer();
  const agent = await ircProtocol.createAgent({ name: 't', protocol: 'irc', host: '127.0.0.1', port, transport: 'tcp', options: {} });
  const line = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 120 }),
    fc.constantFrom(':s 001 u1 :hi', ':s 005 u1 PREFIX=(ov)@+ CHANMODES=,,,u STATUSMSG=@ :are supported', ':s 353 u1 = #c :@a b', ':s 366 u1 #c :end', 'PING :x', 'ERROR :Closing link (Excess Flood)', ':x!y@z PRIVMSG u1 :[imload 1 2 3 0]', ':s CAP * LS :sasl server-time', ':s 433 * u1 :in use', ':s MODE #c +ooo a'),
  );
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 30 }), fc.constantFrom('\r\n', '\n', ''), async (lines, eol) => {
        next(Buffer.from(lines.join(eol) + eol, 'latin1'));
        const kinds: string[] = [];
        const events: VuEvents = {
          bytes: () => {},
          message: () => {},
          presence: () => {},
          error: (kind) => kinds.push(kind),
          disconnected: () => {},
          note: () => {},
          metric: () => {},
        };
        const user = agent.createUser({ index: 0, name: 'u1', contacts: [], channels: [] }, events);
        // The server sends its bytes and closes: logon must settle (resolve or reject), not hang or throw.
        const outcome = await user.logon().then(
          () => 'resolved',
          (error: Error & { kind?: string }) => error.kind ?? 'untyped',
        );
        user.destroy();
        assert.notEqual(outcome, 'untyped', 'failures carry a kind');
        for (const kind of kinds) assert.match(kind, /^[a-z-]+$/);
      }),
      { numRuns: 60 },
    );
  } finally {
    server.close();
  }
});
