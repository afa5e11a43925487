/**
 * A user that has logged off over TCP has only half-closed its connection: the server may still
 * deliver a request it routed before the un-REGISTER (Kamailio did, in a CI run: a MESSAGE or BYE
 * of the session IM mode). The user must take it quietly, not throw out of the socket's data
 * handler and bring its worker down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { sipProtocol } from '../../src/protocols/sip/index.js';
import { serializeRequest } from '../../src/protocols/sip/codec.js';
import { StreamFramer } from '../../src/protocols/sip/framing.js';
import { SipHeaders, SipParseError, type SipRequest } from '../../src/protocols/sip/message.js';
import { parseNameAddr } from '../../src/protocols/sip/address.js';
import { buildResponse } from '../../src/protocols/sip/responses.js';
import type { VuEvents } from '../../src/protocols/types.js';

const DOMAIN = 'stream.test';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A registrar and presence server that answers everything with 200 and remembers the Contact. */
function answer(socket: Socket, request: SipRequest, contacts: Map<string, string>): void {
  const extra: Array<[string, string]> = [];
  if (request.method === 'REGISTER') {
    const contact = request.headers.get('Contact')!;
    contacts.set('user', parseNameAddr(contact)!.uri);
    extra.push(['Contact', `${contact};expires=${request.headers.get('Expires')}`]);
  }
  if (request.method === 'PUBLISH') extra.push(['SIP-ETag', 'etag-1'], ['Expires', request.headers.get('Expires')!]);
  socket.write(buildResponse(request, 200, 'OK', 'srv', extra));
}

function lateMessage(contact: string): Buffer {
  const headers = new SipHeaders()
    .add('Via', 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKlate1')
    .add('From', `<sip:someone@${DOMAIN}>;tag=late`)
    .add('To', `<sip:user@${DOMAIN}>`)
    .add('Call-ID', 'late-message@server')
    .add('CSeq', '1 MESSAGE')
    .add('Content-Type', 'text/plain');
  return serializeRequest('MESSAGE', contact, headers, 'routed before the un-REGISTER');
}

test('TCP: a request that arrives after the user logged off and closed is dropped, not thrown', async (t) => {
  const uncaught: Error[] = [];
  const onUncaught = (error: Error): void => {
    uncaught.push(error);
  };
  process.on('uncaughtException', onUncaught);
  t.after(() => process.off('uncaughtException', onUncaught));

  const contacts = new Map<string, string>();
  const late: Buffer[] = [];
  const serverSide = deferred();
  // allowHalfOpen: the client's FIN leaves our side open, as a SIP proxy's connection stays.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const framer = new StreamFramer({
      message: (message) => {
        if (!(message instanceof SipParseError) && message.kind === 'request') answer(socket, message, contacts);
      },
      framingError: () => socket.destroy(),
      ping: () => undefined,
    });
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    socket.on('end', () => {
      const message = lateMessage(contacts.get('user')!);
      late.push(message);
      socket.end(message);
    });
    socket.on('close', () => serverSide.resolve());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;

  let bytesIn = 0;
  const errors: string[] = [];
  const lateArrived = deferred();
  const events: VuEvents = {
    bytes: (received) => {
      bytesIn += received;
      if (late.length > 0 && received === late[0]!.length) lateArrived.resolve();
    },
    message: (from, text) => errors.push(`unexpected message from ${from}: ${text}`),
    presence: () => undefined,
    error: (kind, detail) => errors.push(`${kind} ${detail ?? ''}`),
    disconnected: (reason) => errors.push(`disconnected ${reason}`),
    note: () => undefined,
    metric: () => undefined,
  };
  const agent = await sipProtocol.createAgent({ name: 'stream', protocol: 'sip', host: '127.0.0.1', port, transport: 'tcp', domain: DOMAIN, options: {} });
  t.after(() => agent.close());
  const user = agent.createUser({ index: 0, name: 'user', contacts: [], channels: [] }, events);

  await user.logon();
  await user.logoff();
  const timeout = setTimeout(() => lateArrived.reject(new Error('the late MESSAGE never reached the user')), 3000);
  await lateArrived.promise;
  clearTimeout(timeout);
  await serverSide.promise;
  // An exception out of a socket callback is reported at that callback's end, before this turn.
  await new Promise((resolve) => setImmediate(resolve));

  assert.ok(bytesIn > late[0]!.length, 'the late MESSAGE was read and counted as bytes in');
  assert.deepEqual(uncaught.map((e) => e.message), [], 'nothing escaped the socket handler');
  assert.deepEqual(errors, [], 'and nothing was reported: the user had logged off');
});
