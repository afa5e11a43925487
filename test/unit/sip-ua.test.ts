/**
 * The SIP agent against a small scripted UDP server that behaves unlike Kamailio in ways RFC 3261
 * allows: 423 Min-Expires, 202 to SUBSCRIBE with the NOTIFY sent first, Record-Route and a
 * notifier Contact distinct from the AoR, a stale nonce on the second 407, a lost datagram.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { sipProtocol } from '../../src/protocols/sip/index.js';
import { parseSipMessage, serializeRequest, serializeResponse } from '../../src/protocols/sip/codec.js';
import { SipHeaders, SipParseError, type SipRequest } from '../../src/protocols/sip/message.js';
import { parseNameAddr, tagOf, uriUser } from '../../src/protocols/sip/address.js';
import { digestResponse, parseDigestChallenge, DigestChallengeError } from '../../src/protocols/sip/digest.js';
import { buildPidf } from '../../src/protocols/sip/pidf.js';
import type { PresenceState, VuEvents } from '../../src/protocols/types.js';

const DOMAIN = 'fake.test';
const PASSWORD = 'pw';
const MIN_EXPIRES = 7200;

interface Dialog {
  readonly callId: string;
  readonly watcherTag: string;
  readonly watcherContact: string;
  readonly watcher: string;
  cseq: number;
}

/** Just enough registrar + presence server + proxy, scripted, on one UDP socket. */
class ScriptedServer {
  readonly seen: string[] = [];
  readonly dialogs: Dialog[] = [];
  private readonly contacts = new Map<string, string>();
  private droppedPublish = false;
  private messageChallenges = 0;
  private counter = 0;
  port = 0;
  /** A server that stopped answering (gone, overloaded): every request is dropped. */
  silent = false;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data, rinfo) => this.handle(data, rinfo));
  }

  static async start(): Promise<ScriptedServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const server = new ScriptedServer(socket);
    server.port = socket.address().port;
    return server;
  }

  get recordRoute(): string {
    return `<sip:127.0.0.1:${this.port};lr>`;
  }

  get notifierContact(): string {
    return `sip:notifier@127.0.0.1:${this.port}`;
  }

  close(): void {
    this.socket.close();
  }

  private handle(data: Buffer, rinfo: RemoteInfo): void {
    const message = parseSipMessage(data);
    if (this.silent || message instanceof SipParseError || message.kind === 'response') return;
    const hasTo = tagOf(message.headers.get('To')) !== undefined;
    this.seen.push(`${message.method}${hasTo ? '(dialog)' : ''} ${message.headers.get('Expires') ?? ''}`.trim());
    switch (message.method) {
      case 'REGISTER':
        return this.register(message, rinfo);
      case 'PUBLISH':
        return this.publish(message, rinfo);
      case 'SUBSCRIBE':
        return this.subscribe(message, rinfo);
      case 'MESSAGE':
        return this.message(message, rinfo);
      default:
        this.reply(message, rinfo, 200, 'OK');
    }
  }

  private authorised(request: SipRequest, header: string, nonce: string): boolean {
    const value = request.headers.get(header);
    if (value === undefined) return false;
    const field = (name: string): string | undefined => new RegExp(`${name}="?([^",]+)"?`).exec(value)?.[1];
    if (field('nonce') !== nonce) return false;
    const challenge = parseDigestChallenge(`Digest realm="${DOMAIN}", nonce="${nonce}", qop="auth"`);
    assert.ok(!(challenge instanceof DigestChallengeError));
    const expected = digestResponse(challenge, {
      username: field('username')!,
      password: PASSWORD,
      method: request.method,
      uri: field('uri')!,
      nc: Number.parseInt(field('nc')!, 16),
      cnonce: field('cnonce')!,
    });
    return field('response') === expected;
  }

  private register(request: SipRequest, rinfo: RemoteInfo): void {
    if (!this.authorised(request, 'Authorization', 'reg-nonce')) {
      return this.reply(request, rinfo, 401, 'Unauthorized', [['WWW-Authenticate', `Digest realm="${DOMAIN}", nonce="reg-nonce", qop="auth"`]]);
    }
    const expires = Number(request.headers.get('Expires'));
    const contact = parseNameAddr(request.headers.get('Contact')!)!.uri;
    const user = uriUser(parseNameAddr(request.headers.get('To')!)!.uri)!;
    if (expires === 0) {
      this.contacts.delete(user);
      return this.reply(request, rinfo, 200, 'OK');
    }
    if (expires < MIN_EXPIRES) return this.reply(request, rinfo, 423, 'Interval Too Brief', [['Min-Expires', String(MIN_EXPIRES)]]);
    this.contacts.set(user, contact);
    this.reply(request, rinfo, 200, 'OK', [['Contact', `<${contact}>;expires=${expires}`]]);
  }

  private publish(request: SipRequest, rinfo: RemoteInfo): void {
    if (!this.droppedPublish) {
      this.droppedPublish = true; // lost on the way: the agent must retransmit
      return;
    }
    const user = uriUser(request.uri)!;
    const body = request.body.toString('utf8');
    if (body !== '') {
      for (const dialog of this.dialogs) if (dialog.watcher !== user) this.notify(dialog, 'active;expires=3600', body, rinfo);
    }
    this.reply(request, rinfo, 200, 'OK', [['SIP-ETag', `etag-${++this.counter}`], ['Expires', request.headers.get('Expires')!]]);
  }

  private subscribe(request: SipRequest, rinfo: RemoteInfo): void {
    const callId = request.headers.get('Call-ID')!;
    if (tagOf(request.headers.get('To')) !== undefined) {
      // In-dialog: must come to our Contact through our Record-Route.
      assert.equal(request.uri, this.notifierContact);
      assert.deepEqual(request.headers.getAll('Route'), [this.recordRoute]);
      const dialog = this.dialogs.find((d) => d.callId === callId)!;
      this.reply(request, rinfo, 200, 'OK', [['Expires', request.headers.get('Expires')!]]);
      if (request.headers.get('Expires') === '0') this.notify(dialog, 'terminated;reason=timeout', '', rinfo);
      return;
    }
    const dialog: Dialog = {
      callId,
      watcherTag: tagOf(request.headers.get('From'))!,
      watcherContact: parseNameAddr(request.headers.get('Contact')!)!.uri,
      watcher: uriUser(parseNameAddr(request.headers.get('From')!)!.uri)!,
      cseq: 0,
    };
    this.dialogs.push(dialog);
    const presentity = uriUser(request.uri)!;
    // The NOTIFY goes out before the 202 (RFC 6665 § 4.1.2.4 allows it).
    this.notify(dialog, 'active;expires=3600', buildPidf(`sip:${presentity}@${DOMAIN}`, 'away', `initial ${presentity}`), rinfo);
    this.reply(request, rinfo, 202, 'Accepted', [['Expires', '3600'], ['Contact', `<${this.notifierContact}>`], ['Record-Route', this.recordRoute]], 'srv');
  }

  private message(request: SipRequest, rinfo: RemoteInfo): void {
    this.messageChallenges++;
    if (this.messageChallenges === 1) {
      return this.reply(request, rinfo, 407, 'Proxy Authentication Required', [['Proxy-Authenticate', `Digest realm="${DOMAIN}", nonce="old", qop="auth"`]]);
    }
    if (this.messageChallenges === 2) {
      assert.ok(this.authorised(request, 'Proxy-Authorization', 'old'));
      return this.reply(request, rinfo, 407, 'Proxy Authentication Required', [['Proxy-Authenticate', `Digest realm="${DOMAIN}", nonce="new", qop="auth", stale=true`]]);
    }
    assert.ok(this.authorised(request, 'Proxy-Authorization', 'new'));
    const target = this.contacts.get(uriUser(request.uri)!);
    if (target === undefined) return this.reply(request, rinfo, 404, 'Not Found');
    const headers = new SipHeaders()
      .add('Via', `SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bKsrv${++this.counter}`)
      .add('From', request.headers.get('From')!)
      .add('To', request.headers.get('To')!)
      .add('Call-ID', `relay-${this.counter}`)
      .add('CSeq', '1 MESSAGE')
      .add('Content-Type', 'text/plain');
    this.socket.send(serializeRequest('MESSAGE', target, headers, request.body), rinfo.port, rinfo.address);
    this.reply(request, rinfo, 200, 'OK');
  }

  private notify(dialog: Dialog, state: string, body: string, rinfo: RemoteInfo): void {
    const headers = new SipHeaders()
      .add('Via', `SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bKsrv${++this.counter}`)
      .add('From', `<sip:presentity@${DOMAIN}>;tag=srv`)
      .add('To', `<sip:${dialog.watcher}@${DOMAIN}>;tag=${dialog.watcherTag}`)
      .add('Call-ID', dialog.callId)
      .add('CSeq', `${++dialog.cseq} NOTIFY`)
      .add('Contact', `<${this.notifierContact}>`)
      .add('Record-Route', this.recordRoute)
      .add('Event', 'presence')
      .add('Subscription-State', state);
    if (body !== '') headers.add('Content-Type', 'application/pidf+xml');
    this.socket.send(serializeRequest('NOTIFY', dialog.watcherContact, headers, body), rinfo.port, rinfo.address);
  }

  private reply(request: SipRequest, rinfo: RemoteInfo, status: number, reason: string, extra: Array<[string, string]> = [], toTag = 'srv'): void {
    const headers = new SipHeaders();
    for (const via of request.headers.getAll('Via')) headers.add('Via', via);
    headers.add('From', request.headers.get('From')!);
    const to = request.headers.get('To')!;
    headers.add('To', tagOf(to) !== undefined ? to : `${to};tag=${toTag}`);
    headers.add('Call-ID', request.headers.get('Call-ID')!);
    headers.add('CSeq', request.headers.get('CSeq')!);
    for (const [name, value] of extra) headers.add(name, value);
    this.socket.send(serializeResponse(status, reason, headers), rinfo.port, rinfo.address);
  }
}

/** What a user was told, with a bounded wait for a given entry. */
class EventLog {
  readonly entries: string[] = [];
  private readonly waiters = new Map<string, () => void>();

  events(): VuEvents {
    return {
      bytes: () => undefined,
      message: (from, text) => this.push(`message ${from}: ${text}`),
      presence: (contact, state: PresenceState, note, _at, initial) => this.push(`presence ${contact} ${state} ${note}${initial ? ' (initial)' : ''}`),
      error: (kind, detail) => this.push(`error ${kind} ${detail ?? ''}`.trim()),
      disconnected: (reason) => this.push(`disconnected ${reason}`),
      note: () => undefined,
      metric: (name: string) => this.push(name === 'retransmissions' ? 'retransmission' : `metric ${name}`),
    };
  }

  private push(entry: string): void {
    this.entries.push(entry);
    this.waiters.get(entry)?.();
  }

  until(entry: string, timeoutMs = 3000): Promise<void> {
    if (this.entries.includes(entry)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never saw "${entry}" in ${JSON.stringify(this.entries)}`)), timeoutMs);
      this.waiters.set(entry, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** The agent under test, on one UDP socket, with short timers. */
function agentFor(server: ScriptedServer) {
  return sipProtocol.createAgent({
    name: 'scripted',
    protocol: 'sip',
    host: '127.0.0.1',
    port: server.port,
    transport: 'udp',
    domain: DOMAIN,
    options: { t1Ms: 50, udpSockets: 1, finalNotifyWaitMs: 1000 },
  });
}

test('agent follows the RFCs against a server that is not Kamailio', async () => {
  const server = await ScriptedServer.start();
  const agent = await agentFor(server);
  const aliceLog = new EventLog();
  const bobLog = new EventLog();
  const alice = agent.createUser({ index: 0, name: 'alice', password: PASSWORD, contacts: ['bob'], channels: [] }, aliceLog.events());
  const bob = agent.createUser({ index: 1, name: 'bob', password: PASSWORD, contacts: [], channels: [] }, bobLog.events());
  try {
    await alice.logon();
    assert.ok(aliceLog.entries.includes('presence bob away initial bob (initial)'), 'NOTIFY before the 202 was taken, as the initial state');
    assert.deepEqual(aliceLog.entries.filter((e) => e.startsWith('error')), [], 'a retransmission is not an error');
    assert.equal(aliceLog.entries.filter((e) => e === 'retransmission').length, 1, 'the lost PUBLISH was retransmitted and counted');
    assert.deepEqual(server.seen.slice(0, 3), ['REGISTER 3600', 'REGISTER 3600', `REGISTER ${MIN_EXPIRES}`], '401, then 423, then Min-Expires');
    await bob.logon();

    assert.deepEqual(await alice.message('bob', 'hello'), { ok: true, recipients: 1 });
    await bobLog.until('message alice: hello');

    await bob.setPresence('busy', 'in a meeting');
    await aliceLog.until('presence bob busy in a meeting');

    await alice.logoff();
    assert.ok(server.seen.includes('SUBSCRIBE(dialog) 0'), 'un-SUBSCRIBE went in-dialog through the Record-Route');
    assert.equal(server.seen.at(-1), 'REGISTER 0');
    await bob.logoff();
    assert.deepEqual(aliceLog.entries.filter((e) => e.startsWith('error')), []);
    assert.deepEqual(bobLog.entries.filter((e) => e.startsWith('error')), []);
  } finally {
    alice.destroy();
    bob.destroy();
    await agent.close();
    server.close();
  }
});

test('a logoff the engine gives up on is one failure, not one per unfinished un-SUBSCRIBE', async () => {
  const server = await ScriptedServer.start();
  const agent = await agentFor(server);
  const log = new EventLog();
  const alice = agent.createUser({ index: 0, name: 'alice', password: PASSWORD, contacts: ['bob', 'carol', 'dave'], channels: [] }, log.events());
  try {
    await alice.logon();
    server.silent = true;
    const logoff = alice.logoff();
    // The un-SUBSCRIBEs are out and unanswered; the engine's logoff timeout fires and it destroys the user.
    alice.destroy();
    await assert.rejects(logoff, 'the logoff itself fails, once');
    assert.deepEqual(log.entries.filter((e) => e.startsWith('error')), [], 'no error per contact for the teardown');
  } finally {
    alice.destroy();
    await agent.close();
    server.close();
  }
});
