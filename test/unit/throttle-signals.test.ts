/**
 * The agents name a server's throttling `throttled`, the kind the adaptive logon window halves on:
 * IRC `ERROR` texts of the servers that throttle connections, an IRC throttle NOTICE followed by a
 * close, and a SIP 503 with Retry-After (a bare 503 stays a server error). A scripted socket
 * stands in for the IRC server: no lab server sends a throttle NOTICE before closing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ircProtocol } from '../../src/protocols/irc/index.js';
import { serverErrorKind } from '../../src/protocols/irc/connection.js';
import { agentErrorFor } from '../../src/protocols/sip/outcome.js';
import { parseSipMessage } from '../../src/protocols/sip/codec.js';
import type { VuEvents } from '../../src/protocols/types.js';

test('IRC: the ERROR texts of throttling servers are `throttled`; other ERRORs keep their kinds', () => {
  assert.equal(serverErrorKind('Closing link: (u000010@127.0.0.11) [Throttled]'), 'throttled'); // InspIRCd connflood
  assert.equal(serverErrorKind('Your host is trying to (re)connect too fast -- throttled'), 'throttled'); // hybrid
  assert.equal(serverErrorKind('Closing Link: 127.0.0.1 (Throttled: Reconnecting too fast)'), 'throttled'); // UnrealIRCd
  assert.equal(serverErrorKind('Closing link: (u@h) [Excess Flood]'), 'flood-disconnect');
  assert.equal(serverErrorKind('Closing link: (u@h) [Registration timeout]'), 'server-error');
});

test('IRC: a throttle NOTICE before the server closes an unregistered client fails the logon as throttled', async () => {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end(':srv NOTICE * :*** You are connecting too fast, try again later\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    const agent = await ircProtocol.createAgent({ name: 't', protocol: 'irc', host: '127.0.0.1', port, transport: 'tcp', options: {} });
    const events: VuEvents = { bytes: () => {}, message: () => {}, presence: () => {}, error: () => {}, disconnected: () => {}, note: () => {}, metric: () => {} };
    const user = agent.createUser({ index: 0, name: 'u1', contacts: [], channels: [] }, events);
    const kind = await user.logon().then(
      () => 'resolved',
      (error: Error & { kind?: string }) => error.kind,
    );
    user.destroy();
    await agent.close();
    assert.equal(kind, 'throttled');
  } finally {
    server.close();
  }
});

function response(status: string, extra = ''): ReturnType<typeof parseSipMessage> {
  return parseSipMessage(
    Buffer.from(
      `SIP/2.0 ${status}\r\nVia: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK1\r\nFrom: <sip:u@d>;tag=1\r\nTo: <sip:u@d>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n${extra}Content-Length: 0\r\n\r\n`,
    ),
  );
}

test('SIP: a 503 with Retry-After is `throttled`; a 503 without it stays a server error', () => {
  assert.equal(agentErrorFor('REGISTER', response('503 Service Unavailable', 'Retry-After: 5\r\n'), 'e', 'logon').kind, 'throttled');
  assert.equal(agentErrorFor('REGISTER', response('503 Service Unavailable'), 'e', 'logon').kind, 'server-error');
  assert.equal(agentErrorFor('REGISTER', response('500 Server Internal Error', 'Retry-After: 5\r\n'), 'e', 'logon').kind, 'server-error');
});
