/**
 * The XMPP agent against a scripted server on loopback: the logon sequence it sends, how it
 * reads presence and messages, send acknowledgements, and how failures map to the taxonomy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { XmlStreamParser, child, text, type XmlElement } from '../../src/protocols/xmpp/xml.js';
import { xmppProtocol } from '../../src/protocols/xmpp/index.js';
import type { AgentError, VuEvents } from '../../src/protocols/types.js';

const HEADER = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='it.test' version='1.0'>`;
const SASL = `<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>`;

type Script = (element: XmlElement, send: (xml: string) => void, socket: Socket, streams: number) => void;

async function scripted(script: Script) {
  const received: XmlElement[] = [];
  const server = createServer((socket) => {
    let streams = 0;
    const send = (xml: string) => socket.write(xml);
    const open = () => {
      const parser = new XmlStreamParser({
        streamStart: () => {
          streams++;
          send(HEADER);
          if (streams === 1) send(`<stream:features>${SASL}</stream:features>`);
          else send(`<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>`);
        },
        element: (e) => {
          received.push(e);
          if (e.name === 'auth') {
            script(e, send, socket, streams);
            if (!socket.destroyed && received.filter((r) => r.name === 'auth').length === 1 && !(e as { handled?: boolean }).handled) {
              send(`<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`);
              current = open(); // a new stream after SASL success
            }
            return;
          }
          script(e, send, socket, streams);
        },
        streamEnd: () => socket.end('</stream:stream>'),
        error: () => socket.destroy(),
      });
      return parser;
    };
    let current = open();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => current.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const agent = await xmppProtocol.createAgent({ name: 't', protocol: 'xmpp', host: '127.0.0.1', port, transport: 'tcp', domain: 'it.test', options: { timeoutMs: 3000 } });
  return { agent, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function recorder() {
  const seen = { presence: [] as unknown[][], messages: [] as unknown[][], errors: [] as string[], disconnects: [] as unknown[][] };
  const events: VuEvents = {
    bytes() {},
    message: (from, body, _at, channel) => seen.messages.push([from, body, channel]),
    presence: (contact, state, note, _at, initial) => seen.presence.push([contact, state, note, initial]),
    metric() {},
    error: (kind) => seen.errors.push(kind),
    disconnected: (reason, kind) => seen.disconnects.push([reason, kind]),
    note() {},
  };
  return { seen, events };
}

/** Answers bind, session, roster (contact b subscribed, c missing) and pings. */
const happy: Script = (e, send) => {
  if (e.name !== 'iq') return;
  const id = e.attrs.id;
  if (child(e, 'bind')) send(`<iq type='result' id='${id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>a@it.test/imload</jid></bind></iq>`);
  else if (child(e, 'query', 'jabber:iq:roster'))
    send(`<iq type='result' id='${id}'><query xmlns='jabber:iq:roster'><item jid='b@it.test' subscription='both'/><item jid='d@it.test' subscription='none' ask='subscribe'/></query></iq>`);
  else send(`<iq type='result' id='${id}'/>`);
};

test('logon: PLAIN, bind, a required session, roster, subscriptions only where missing, initial presence', async () => {
  const { agent, received, close } = await scripted(happy);
  const { events } = recorder();
  const user = agent.createUser({ index: 0, name: 'a', password: 'pw', contacts: ['b', 'c', 'd'], channels: [] }, events);
  await user.logon();
  const names = received.map((e) => `${e.name}${e.attrs.type ? `:${e.attrs.type}` : ''}${e.attrs.to ? `>${e.attrs.to}` : ''}`);
  assert.deepEqual(names, ['auth', 'iq:set', 'iq:set', 'iq:get', 'presence:subscribe>c@it.test', 'presence', 'iq:get>it.test']);
  assert.equal(Buffer.from(text(received[0]!), 'base64').toString(), '\0a\0pw');
  assert.ok(child(received[2]!, 'session'), 'the session the server did not mark optional');
  user.destroy();
  await close();
});

test('presence: first is initial, a change is not, a repeat is dropped, strangers ignored; chat and subscribe handled', async () => {
  let sock: Socket | undefined;
  const { agent, received, close } = await scripted((e, send, socket) => {
    sock = socket;
    happy(e, send, socket, 2);
  });
  const { seen, events } = recorder();
  const user = agent.createUser({ index: 0, name: 'a', password: 'pw', contacts: ['b'], channels: [] }, events);
  await user.logon();
  const sendRaw = (xml: string) => sock!.write(xml);
  sendRaw(`<presence from='b@it.test/r'/>`);
  sendRaw(`<presence from='b@it.test/r'><show>dnd</show><status>n1 &amp; more</status></presence>`);
  sendRaw(`<presence from='b@it.test/r'><show>dnd</show><status>n1 &amp; more</status></presence>`);
  sendRaw(`<presence from='z@it.test/r'><show>away</show></presence>`);
  sendRaw(`<presence from='b@it.test/r' type='unavailable'/>`);
  sendRaw(`<presence from='b@it.test/r'><show>away</show><status>n2</status></presence>`);
  sendRaw(`<message from='b@it.test/r' type='chat'><body>hi &lt;3</body></message>`);
  sendRaw(`<presence from='q@it.test' type='subscribe'/>`);
  sendRaw(`<iq from='it.test' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await new Promise<void>((resolve) => {
    const check = () => (received.some((e) => e.name === 'iq' && e.attrs.id === 'p1') ? resolve() : setTimeout(check, 5));
    check();
  });
  assert.deepEqual(seen.presence, [
    ['b', 'online', '', true],
    ['b', 'busy', 'n1 & more', false],
    ['b', 'away', 'n2', true],
  ]);
  assert.deepEqual(seen.messages, [['b', 'hi <3', undefined]]);
  assert.ok(received.some((e) => e.name === 'presence' && e.attrs.type === 'subscribed' && e.attrs.to === 'q@it.test'), 'subscription approved');
  assert.equal(received.find((e) => e.attrs.id === 'p1')?.attrs.type, 'result', 'the server ping answered');
  user.destroy();
  await close();
});

test('a message bounced before the ping result is undeliverable (offline); otherwise accepted', async () => {
  const { agent, close } = await scripted((e, send) => {
    if (e.name === 'message' && e.attrs.to === 'gone@it.test') send(`<message type='error' id='${e.attrs.id}' from='gone@it.test'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`);
    else happy(e, send, undefined as never, 2);
  });
  const { events } = recorder();
  const user = agent.createUser({ index: 0, name: 'a', password: 'pw', contacts: [], channels: [] }, events);
  await user.logon();
  assert.deepEqual(await user.message('b', 'x'), { ok: true, recipients: 1 });
  const bounced = await user.message('gone', 'x');
  assert.equal(bounced.ok, false);
  assert.equal(!bounced.ok && bounced.reason, 'offline');
  user.destroy();
  await close();
});

test('failures in the taxonomy: SASL failure is auth-failed, a stream policy-violation is throttled', async () => {
  for (const [reply, kind] of [
    [`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>`, 'auth-failed'],
    [`<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`, 'throttled'],
  ] as const) {
    const { agent, close } = await scripted((e, send) => {
      if (e.name === 'auth') {
        (e as { handled?: boolean }).handled = true;
        send(reply);
      }
    });
    const { events } = recorder();
    const user = agent.createUser({ index: 0, name: 'a', password: 'pw', contacts: [], channels: [] }, events);
    await assert.rejects(user.logon(), (error: AgentError) => error.kind === kind);
    await close();
  }
});

test('connect refused is connect-refused', async () => {
  const { agent, close } = await scripted(() => {});
  await close();
  const { events } = recorder();
  const user = agent.createUser({ index: 0, name: 'a', password: 'pw', contacts: [], channels: [] }, events);
  await assert.rejects(user.logon(), (error: AgentError) => error.kind === 'connect-refused');
});

test('a room message counts the occupants known when its echo returns, not those at sending', async () => {
  const room = 'room-001@conference.it.test';
  const { agent, close } = await scripted((e, send) => {
    if (e.name === 'presence' && e.attrs.to === `${room}/a`) {
      send(`<presence from='${room}/b'><x xmlns='http://jabber.org/protocol/muc#user'><item role='participant'/></x></presence>`);
      send(`<presence from='${room}/a'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>`);
    } else if (e.name === 'message' && e.attrs.type === 'groupchat') {
      // c joined before the room handled our message: announced ahead of the echo.
      send(`<presence from='${room}/c'/>`);
      send(`<message type='groupchat' id='${e.attrs.id}' from='${room}/a'><body>${text(child(e, 'body'))}</body></message>`);
      send(`<message type='groupchat' id='other' from='${room}/b'><body>from b</body></message>`);
    } else happy(e, send, undefined as never, 2);
  });
  const { seen, events } = recorder();
  const channel = { name: '#room-001', role: 'member' as const, auditorium: false, presenters: [] };
  const user = agent.createUser({ index: 0, name: 'a', password: 'pw', contacts: [], channels: [channel] }, events);
  await user.logon();
  await user.join(channel);
  assert.deepEqual(await user.say(channel, 'hello room', 'all'), { ok: true, recipients: 2 });
  assert.deepEqual(seen.messages, [['b', 'from b', '#room-001']], 'our own echo is no delivery');
  user.destroy();
  await close();
});
