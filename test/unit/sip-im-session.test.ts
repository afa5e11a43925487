/**
 * Session-mode IM (INVITE, MESSAGE in the dialog, BYE) against a scripted UDP server whose BYE
 * goes unanswered (its callee has gone): the send's outcome is the MESSAGE's, known when the
 * MESSAGE is answered, not after the BYE's Timer F (here 64 × 10 s), which would hold the user's
 * next action that long.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { sipProtocol } from '../../src/protocols/sip/index.js';
import { parseSipMessage } from '../../src/protocols/sip/codec.js';
import { SipParseError, type SipRequest } from '../../src/protocols/sip/message.js';
import { buildResponse } from '../../src/protocols/sip/responses.js';
import type { VuEvents } from '../../src/protocols/types.js';

const DOMAIN = 'session.test';

test('session IM: the outcome is the MESSAGE’s; an unanswered BYE does not hold it', { timeout: 20_000 }, async (t) => {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => socket.close());
  const port = socket.address().port;
  const seen: string[] = [];
  let byeSeen: () => void = () => undefined;
  const bye = new Promise<void>((resolve) => (byeSeen = resolve));

  const reply = (request: SipRequest, rinfo: RemoteInfo, extra: Array<[string, string]> = [], sdp?: string): void => {
    socket.send(buildResponse(request, 200, 'OK', 'callee', extra, sdp, 'application/sdp'), rinfo.port, rinfo.address);
  };
  socket.on('message', (data, rinfo) => {
    const request = parseSipMessage(data);
    if (request instanceof SipParseError || request.kind !== 'request') return;
    seen.push(request.method);
    switch (request.method) {
      case 'REGISTER':
        return reply(request, rinfo, [['Contact', `${request.headers.get('Contact')};expires=${request.headers.get('Expires')}`]]);
      case 'PUBLISH':
        return reply(request, rinfo, [['SIP-ETag', 'etag-1'], ['Expires', request.headers.get('Expires')!]]);
      case 'INVITE':
        return reply(request, rinfo, [['Contact', `<sip:bob@127.0.0.1:${port}>`]], 'v=0\r\n');
      case 'MESSAGE':
        return reply(request, rinfo);
      case 'BYE':
        return byeSeen(); // the callee is gone: no answer, ever
      default:
        return;
    }
  });

  const errors: string[] = [];
  const events: VuEvents = {
    bytes: () => undefined,
    message: () => undefined,
    presence: () => undefined,
    error: (kind, detail) => errors.push(`${kind} ${detail ?? ''}`),
    disconnected: () => undefined,
    note: () => undefined,
    metric: () => undefined,
  };
  const agent = await sipProtocol.createAgent({
    name: 'session',
    protocol: 'sip',
    host: '127.0.0.1',
    port,
    transport: 'udp',
    domain: DOMAIN,
    options: { imMode: 'session', t1Ms: 10_000, udpSockets: 1 },
  });
  t.after(() => agent.close());
  const alice = agent.createUser({ index: 0, name: 'alice', contacts: [], channels: [] }, events);
  t.after(() => alice.destroy());

  await alice.logon();
  const outcome = await alice.message('bob', 'hello');
  assert.deepEqual(outcome, { ok: true, recipients: 1 });
  await bye;
  assert.deepEqual(seen.filter((m) => m !== 'REGISTER' && m !== 'PUBLISH'), ['INVITE', 'ACK', 'MESSAGE', 'BYE']);
  assert.deepEqual(errors, []);
});
