/**
 * The SIP user agent against a scripted UDP server answering in forms RFC 3261 allows and
 * Kamailio does not send: every response and NOTIFY in compact header forms (§ 7.3.3: `v:`,
 * `f:`, `t:`, `i:`, `m:`, `c:`, `l:`) with folded continuation lines (§ 7.3.1); NOTIFYs whose
 * PIDF (RFC 3863) carries `<basic>` and no `<note>`, measured by the schedule (issue 16); a
 * 503 with Retry-After (§ 21.5.4); requests outside any subscription of ours (a NOTIFY of another
 * dialog, OPTIONS, an unknown method). docs/conformance-sip.md lists what each test covers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { sipProtocol } from '../../src/protocols/sip/index.js';
import { parseSipMessage } from '../../src/protocols/sip/codec.js';
import { SipParseError, type SipRequest } from '../../src/protocols/sip/message.js';
import { parseNameAddr, tagOf, uriUser } from '../../src/protocols/sip/address.js';
import type { PresenceState, VuEvents } from '../../src/protocols/types.js';
import { Inbox } from '../../src/engine/inbox.js';
import { PresenceCorrelator } from '../../src/engine/presence-correlation.js';
import { MetricsRecorder } from '../../src/metrics/recorder.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';

const DOMAIN = 'compact.test';

/** A PIDF with only the standard status: `<basic>`, an RPID activity for busy/away, no `<note>`. */
function standardPidf(entity: string, state: PresenceState): string {
  const activity = state === 'busy' || state === 'away' ? `<dm:person id="p"><rpid:activities><rpid:${state}/></rpid:activities></dm:person>` : '';
  return (
    `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ` +
    `xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${entity}"><tuple id="t"><status><basic>${state === 'offline' ? 'closed' : 'open'}</basic></status></tuple>${activity}</presence>`
  );
}

/** Folds a Via after its first `;` (§ 7.3.1: a continuation line starts with white space). */
const foldedVia = (via: string): string => via.replace(';', ';\r\n\t');

interface Watch {
  readonly callId: string;
  readonly watcher: string;
  readonly watcherTag: string;
  readonly contact: string;
  readonly rinfo: RemoteInfo;
  cseq: number;
}

/** Registrar, presence server and notifier on one UDP socket, speaking compact forms only. */
class CompactServer {
  readonly watches: Watch[] = [];
  port = 0;
  /** Answer REGISTER with this instead of 200 (e.g. a 503 with Retry-After). */
  registerReply: { status: string; headers: string[] } | undefined;
  /** The state each presentity shows in the first NOTIFY of a subscription. */
  initialState: PresenceState = 'online';
  private counter = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data, rinfo) => this.handle(data, rinfo));
  }

  static async start(): Promise<CompactServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const server = new CompactServer(socket);
    server.port = socket.address().port;
    return server;
  }

  close(): void {
    this.socket.close();
  }

  /** The status line and `Allow` of each response the agent sent to our requests, by CSeq method. */
  readonly answers: string[] = [];

  private handle(data: Buffer, rinfo: RemoteInfo): void {
    const message = parseSipMessage(data);
    if (message instanceof SipParseError) return;
    if (message.kind === 'response') {
      const method = message.headers.get('CSeq')!.split(' ')[1];
      this.answers.push(`${method} ${message.status} ${message.headers.getAll('Allow').join(', ')}`.trim());
      return;
    }
    const expires = message.headers.get('Expires') ?? '3600';
    switch (message.method) {
      case 'REGISTER': {
        if (this.registerReply) return this.reply(message, rinfo, this.registerReply.status, this.registerReply.headers);
        const contact = parseNameAddr(message.headers.get('Contact')!)!.uri;
        return this.reply(message, rinfo, '200 OK', [`m: <${contact}>\r\n ;expires=${expires}`]);
      }
      case 'PUBLISH':
        return this.reply(message, rinfo, '200 OK', [`SIP-ETag: e${++this.counter}`, `Expires: ${expires}`]);
      case 'SUBSCRIBE':
        return this.subscribe(message, rinfo, expires);
      default:
        this.reply(message, rinfo, '200 OK', []);
    }
  }

  private subscribe(request: SipRequest, rinfo: RemoteInfo, expires: string): void {
    const callId = request.headers.get('Call-ID')!;
    const existing = this.watches.find((w) => w.callId === callId);
    this.reply(request, rinfo, '200 OK', [`m: <sip:notifier@127.0.0.1:${this.port}>`, `Expires: ${expires}`]);
    if (existing) {
      if (expires === '0') this.notify(existing, 'terminated;reason=timeout', '');
      return;
    }
    const from = request.headers.get('From')!;
    const watch: Watch = {
      callId,
      watcher: uriUser(parseNameAddr(from)!.uri)!,
      watcherTag: tagOf(from)!,
      contact: uriUser(request.uri)!,
      rinfo,
      cseq: 0,
    };
    this.watches.push(watch);
    this.notify(watch, 'active;expires=3600', standardPidf(`sip:${watch.contact}@${DOMAIN}`, this.initialState));
  }

  /** A request outside any dialog to the watcher's socket, in compact forms. */
  request(watch: Watch, method: string, callId = `other-${++this.counter}`): void {
    const lines = [
      `${method} sip:${watch.watcher}@${watch.rinfo.address}:${watch.rinfo.port} SIP/2.0`,
      `v: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bKr${++this.counter}`,
      `f: <sip:${watch.contact}@${DOMAIN}>;tag=srv`,
      `t: <sip:${watch.watcher}@${DOMAIN}>${method === 'NOTIFY' ? ';tag=not-ours' : ''}`,
      `i: ${callId}`,
      `CSeq: 1 ${method}`,
      ...(method === 'NOTIFY' ? ['o: presence', 'Subscription-State: active;expires=60'] : []),
      'l: 0',
      '',
      '',
    ];
    this.socket.send(Buffer.from(lines.join('\r\n')), watch.rinfo.port, watch.rinfo.address);
  }

  /** A NOTIFY in compact forms, Subscription-State folded, no `<note>` in the PIDF. */
  notify(watch: Watch, state: string, body: string): void {
    const [name, value] = state.split(';');
    const lines = [
      `NOTIFY sip:${watch.watcher}@${watch.rinfo.address}:${watch.rinfo.port} SIP/2.0`,
      `v: SIP/2.0/UDP 127.0.0.1:${this.port};\r\n branch=z9hG4bKn${++this.counter}`,
      `f: <sip:${watch.contact}@${DOMAIN}>;tag=srv`,
      `t: <sip:${watch.watcher}@${DOMAIN}>;tag=${watch.watcherTag}`,
      `i: ${watch.callId}`,
      `CSeq: ${++watch.cseq} NOTIFY`,
      `m: <sip:notifier@127.0.0.1:${this.port}>`,
      'o: presence',
      `Subscription-State: ${name};\r\n\t${value}`,
      ...(body === '' ? [] : ['c: application/pidf+xml']),
      `l: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    this.socket.send(Buffer.from(lines.join('\r\n')), watch.rinfo.port, watch.rinfo.address);
  }

  /** A response in compact forms: `v:` folded, `f:`, `t:`, `i:`, `l:`. */
  private reply(request: SipRequest, rinfo: RemoteInfo, status: string, extra: string[]): void {
    const to = request.headers.get('To')!;
    const lines = [
      `SIP/2.0 ${status}`,
      ...request.headers.getAll('Via').map((via) => `v: ${foldedVia(via)}`),
      `f: ${request.headers.get('From')!}`,
      `t: ${tagOf(to) === undefined ? `${to};tag=srv` : to}`,
      `i: ${request.headers.get('Call-ID')!}`,
      `CSeq: ${request.headers.get('CSeq')!}`,
      ...extra,
      'l: 0',
      '',
      '',
    ];
    this.socket.send(Buffer.from(lines.join('\r\n')), rinfo.port, rinfo.address);
  }
}

interface Seen {
  readonly contact: string;
  readonly state: PresenceState;
  readonly note: string;
  readonly at: number;
  readonly initial: boolean;
}

function recorder(presences: Seen[], errors: string[]): VuEvents {
  return {
    bytes: () => undefined,
    message: () => undefined,
    presence: (contact, state, note, at, initial) => presences.push({ contact, state, note, at, initial: initial === true }),
    error: (kind, detail) => errors.push(`${kind} ${detail ?? ''}`),
    disconnected: () => undefined,
    note: () => undefined,
    metric: () => undefined,
  };
}

function agentFor(server: CompactServer) {
  return sipProtocol.createAgent({
    name: 'compact',
    protocol: 'sip',
    host: '127.0.0.1',
    port: server.port,
    transport: 'udp',
    domain: DOMAIN,
    // Short timers: a response the agent cannot read ends the test in about 3 s, not 32.
    options: { t1Ms: 50, udpSockets: 1, finalNotifyWaitMs: 1000 },
  });
}

/** Waits (bounded) until `ready()` holds, checking every few milliseconds. */
async function until(ready: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('compact headers and folded lines in every response and NOTIFY: logon, a presence change without <note>, logoff', { timeout: 20_000 }, async () => {
  const server = await CompactServer.start();
  const agent = await agentFor(server);
  const presences: Seen[] = [];
  const errors: string[] = [];
  const alice = agent.createUser({ index: 0, name: 'alice', contacts: ['bob'], channels: [] }, recorder(presences, errors));
  try {
    await alice.logon();
    assert.deepEqual(presences.map((p) => [p.contact, p.state, p.note, p.initial]), [['bob', 'online', '', true]]);
    const watch = server.watches[0]!;
    server.notify(watch, 'active;expires=3600', standardPidf(`sip:bob@${DOMAIN}`, 'busy'));
    await until(() => presences.length === 2, 'the busy NOTIFY');
    // A NOTIFY that leaves the state as it was is not a change (RFC 6665 lets a notifier send it).
    server.notify(watch, 'active;expires=3600', standardPidf(`sip:bob@${DOMAIN}`, 'busy'));
    server.notify(watch, 'active;expires=3600', standardPidf(`sip:bob@${DOMAIN}`, 'offline'));
    await until(() => presences.length === 3, 'the offline NOTIFY');
    assert.deepEqual(presences.slice(1).map((p) => [p.state, p.note, p.initial]), [['busy', '', false], ['offline', '', false]]);
    await alice.logoff();
    assert.deepEqual(errors, []);
  } finally {
    alice.destroy();
    await agent.close();
    server.close();
  }
});

test('a 503 with Retry-After to REGISTER fails the logon as throttled; without Retry-After it is a server error', { timeout: 20_000 }, async () => {
  const server = await CompactServer.start();
  const agent = await agentFor(server);
  const kindOf = async (headers: string[]): Promise<string | undefined> => {
    server.registerReply = { status: '503 Service Unavailable', headers };
    const user = agent.createUser({ index: 0, name: 'alice', contacts: [], channels: [] }, recorder([], []));
    try {
      return await user.logon().then(
        () => 'resolved',
        (error: Error & { kind?: string }) => error.kind,
      );
    } finally {
      user.destroy();
    }
  };
  try {
    assert.equal(await kindOf(['Retry-After: 30']), 'throttled');
    assert.equal(await kindOf(['Retry-After: 30 (overloaded);duration=60']), 'throttled', 'a comment and parameters (§ 20.33)');
    assert.equal(await kindOf([]), 'server-error');
  } finally {
    await agent.close();
    server.close();
  }
});

test('a NOTIFY with <basic> and no <note>, driven through the user agent, is matched to its scheduled change', { timeout: 20_000 }, async () => {
  const plan = new WorkloadPlan(
    parseScenarioText(`version: 1
targets: { im: { url: sip://127.0.0.1:5060 } }
scenarios:
  s:
    target: im
    seed: 3
    timeScale: 3600
    population: { users: 30, contacts: 4 }
    phases: [{ phase: rampUp, rate: 100 }, { phase: hold, duration: 60s }]
    behaviour: { presenceChangesPerHour: 30 }
`).scenarios.s!,
  );
  const watcher = plan.identity(0);
  const contactIndex = plan.contactIndices(0)[0]!;
  const activity = plan.activity(contactIndex, plan.identity(contactIndex));
  let change;
  for (let a = activity.next(); a !== undefined && change === undefined; a = activity.next()) if (a.kind === 'presence') change = a;
  assert.ok(change, 'the contact has a scheduled change');
  const contact = watcher.contacts[0]!;

  const server = await CompactServer.start();
  // The contact starts in a state other than the scheduled one, so the NOTIFY below is a change.
  server.initialState = change.state === 'online' ? 'away' : 'online';
  const agent = await agentFor(server);
  const presences: Seen[] = [];
  const errors: string[] = [];
  const user = agent.createUser({ index: 0, name: watcher.name, contacts: [contact], channels: [] }, recorder(presences, errors));
  try {
    await user.logon();
    server.notify(server.watches[0]!, 'active;expires=3600', standardPidf(`sip:${contact}@${DOMAIN}`, change.state));
    await until(() => presences.length === 2, 'the scheduled change');
  } finally {
    user.destroy();
    await agent.close();
    server.close();
  }
  const seen = presences[1]!;
  assert.deepEqual([seen.contact, seen.state, seen.note, seen.initial], [contact, change.state, '', false]);

  // What the user agent reported goes to the engine's inbox, the run started `change.at` before.
  const metrics = new MetricsRecorder(0);
  const methods: string[] = [];
  const start = seen.at - change.at - 250;
  const inbox = new Inbox(metrics, watcher, { channelNamed: () => undefined }, undefined, new PresenceCorrelator(plan, watcher, start), { note: (key) => methods.push(key) });
  for (const p of presences) inbox.presence(p.contact, p.state, p.note, p.at, p.initial);
  const snapshot = metrics.snapshot();
  assert.equal(snapshot.counters.presenceSeen, 1, 'the change without a note is counted by the schedule');
  assert.ok(snapshot.histograms.presence !== undefined, 'with its latency');
  assert.deepEqual(methods, ['presence-method-schedule']);
  assert.deepEqual(errors, []);
});

test('requests outside a subscription: a NOTIFY of no dialog of ours 481, OPTIONS 200 with Allow, an unknown method 405', { timeout: 20_000 }, async () => {
  const server = await CompactServer.start();
  const agent = await agentFor(server);
  const presences: Seen[] = [];
  const errors: string[] = [];
  const alice = agent.createUser({ index: 0, name: 'alice', contacts: ['bob'], channels: [] }, recorder(presences, errors));
  try {
    await alice.logon();
    const watch = server.watches[0]!;
    server.request(watch, 'NOTIFY');
    server.request(watch, 'NOTIFY', watch.callId); // our Call-ID, a To tag that is not ours
    server.request(watch, 'OPTIONS');
    server.request(watch, 'SUBSCRIBE');
    // Besides the 200 to the initial NOTIFY.
    const outside = (): string[] => server.answers.filter((answer) => answer !== 'NOTIFY 200');
    await until(() => outside().length === 4, 'four answers');
    const allow = 'INVITE, ACK, BYE, MESSAGE, NOTIFY, OPTIONS';
    assert.deepEqual(outside().sort(), ['NOTIFY 481', 'NOTIFY 481', `OPTIONS 200 ${allow}`, `SUBSCRIBE 405 ${allow}`]);
    assert.equal(presences.length, 1, 'only the initial NOTIFY was read as presence');
  } finally {
    alice.destroy();
    await agent.close();
    server.close();
  }
});
