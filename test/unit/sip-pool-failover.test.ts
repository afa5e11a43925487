/**
 * The pool's failovers as the agent counts them (src/protocols/sip/pool-failover.ts), against a
 * scripted UDP server that marks its replies the way the kamailio-pool dispatcher marks the replies
 * of a request it re-sent to another front end (`X-Imload-Retried`): each out-of-dialog
 * transaction retried and then answered 2xx counts once under its method's metric, at logon, in a
 * presence change, an IM (pager or session) and at logoff; one retried and then refused counts as
 * its failure only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { sipProtocol } from '../../src/protocols/sip/index.js';
import { parseSipMessage, serializeRequest, serializeResponse } from '../../src/protocols/sip/codec.js';
import { SipHeaders, SipParseError, type SipRequest } from '../../src/protocols/sip/message.js';
import { parseNameAddr, tagOf } from '../../src/protocols/sip/address.js';
import { RETRIED_HEADER } from '../../src/protocols/sip/pool-config.js';
import { buildPidf } from '../../src/protocols/sip/pidf.js';
import type { VuEvents } from '../../src/protocols/types.js';

const DOMAIN = 'pool.test';

/** Registrar, presence server and IM peer in one, answering out-of-dialog requests as re-sent ones when told to. */
class RetryingServer {
  /** Methods whose out-of-dialog replies carry the retried header. */
  retried = new Set<string>();
  /** Methods answered 500 (with the header too, when retried: the other front end refused). */
  refused = new Set<string>();
  port = 0;
  private counter = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data, rinfo) => this.handle(data, rinfo));
  }

  static async start(): Promise<RetryingServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const server = new RetryingServer(socket);
    server.port = socket.address().port;
    return server;
  }

  close(): void {
    this.socket.close();
  }

  private handle(data: Buffer, rinfo: RemoteInfo): void {
    const request = parseSipMessage(data);
    if (request instanceof SipParseError || request.kind === 'response' || request.method === 'ACK') return;
    const inDialog = tagOf(request.headers.get('To')) !== undefined;
    const extra: Array<[string, string]> = [];
    if (!inDialog && this.retried.has(request.method)) extra.push([RETRIED_HEADER, '1']);
    if (this.refused.has(request.method)) return this.reply(request, rinfo, 500, 'Server Error', extra);
    const contact = `<sip:peer@127.0.0.1:${this.port}>`;
    switch (request.method) {
      case 'REGISTER':
        extra.push(['Contact', `${request.headers.get('Contact')!};expires=${request.headers.get('Expires')!}`]);
        break;
      case 'PUBLISH':
        extra.push(['SIP-ETag', `e${++this.counter}`], ['Expires', request.headers.get('Expires')!]);
        break;
      case 'SUBSCRIBE':
        extra.push(['Expires', request.headers.get('Expires')!], ['Contact', contact]);
        // The 200 first: logon waits for the NOTIFY, by which time every 200 was read.
        this.reply(request, rinfo, 200, 'OK', extra);
        if (!inDialog) this.notify(request, rinfo);
        return;
      case 'INVITE':
        extra.push(['Contact', contact]);
        break;
    }
    this.reply(request, rinfo, 200, 'OK', extra);
  }

  /** The first NOTIFY of a subscription, which logon waits for. */
  private notify(subscribe: SipRequest, rinfo: RemoteInfo): void {
    const headers = new SipHeaders()
      .add('Via', `SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bKn${++this.counter}`)
      .add('From', `<${subscribe.uri}>;tag=srv`)
      .add('To', subscribe.headers.get('From')!)
      .add('Call-ID', subscribe.headers.get('Call-ID')!)
      .add('CSeq', '1 NOTIFY')
      .add('Contact', `<sip:peer@127.0.0.1:${this.port}>`)
      .add('Event', 'presence')
      .add('Subscription-State', 'active;expires=3600')
      .add('Content-Type', 'application/pidf+xml');
    const target = parseNameAddr(subscribe.headers.get('Contact')!)!.uri;
    this.socket.send(serializeRequest('NOTIFY', target, headers, buildPidf(subscribe.uri, 'online', '')), rinfo.port, rinfo.address);
  }

  private reply(request: SipRequest, rinfo: RemoteInfo, status: number, reason: string, extra: Array<[string, string]>): void {
    const headers = new SipHeaders();
    for (const via of request.headers.getAll('Via')) headers.add('Via', via);
    headers.add('From', request.headers.get('From')!);
    const to = request.headers.get('To')!;
    headers.add('To', tagOf(to) !== undefined ? to : `${to};tag=srv`);
    headers.add('Call-ID', request.headers.get('Call-ID')!);
    headers.add('CSeq', request.headers.get('CSeq')!);
    for (const [name, value] of extra) headers.add(name, value);
    this.socket.send(serializeResponse(status, reason, headers), rinfo.port, rinfo.address);
  }
}

/** The failover counters a user reported, and its errors. */
function recorder() {
  const failovers: Record<string, number> = {};
  const errors: string[] = [];
  const events: VuEvents = {
    bytes: () => undefined,
    message: () => undefined,
    presence: () => undefined,
    error: (kind, detail) => void errors.push(`${kind} ${detail ?? ''}`),
    disconnected: (reason) => void errors.push(`disconnected ${reason}`),
    note: () => undefined,
    metric: (name, value) => {
      if (name.startsWith('poolFailover')) failovers[name] = (failovers[name] ?? 0) + value;
    },
  };
  return { failovers, errors, events };
}

async function withAgent(imMode: 'pager' | 'session', body: (server: RetryingServer, agent: Awaited<ReturnType<typeof sipProtocol.createAgent>>) => Promise<void>) {
  const server = await RetryingServer.start();
  const agent = await sipProtocol.createAgent({
    name: 'retrying', protocol: 'sip', host: '127.0.0.1', port: server.port, transport: 'udp', domain: DOMAIN,
    options: { t1Ms: 50, udpSockets: 1, finalNotifyWaitMs: 50, imMode },
  });
  try {
    await body(server, agent);
  } finally {
    await agent.close();
    server.close();
  }
}

test('each re-sent transaction that succeeded is counted once, under its method: logon, presence, IM, logoff', async () => {
  await withAgent('pager', async (server, agent) => {
    const { failovers, errors, events } = recorder();
    const user = agent.createUser({ index: 0, name: 'alice', contacts: ['bob', 'carol'], channels: [] }, events);
    try {
      server.retried = new Set(['REGISTER', 'PUBLISH', 'SUBSCRIBE', 'MESSAGE']);
      await user.logon();
      assert.deepEqual(failovers, { poolFailoverRegister: 1, poolFailoverPublish: 1, poolFailoverSubscribe: 2 });
      assert.deepEqual(await user.message('bob', 'hi'), { ok: true, recipients: 1 });
      await user.setPresence('away', 'lunch');
      assert.deepEqual(failovers, { poolFailoverRegister: 1, poolFailoverPublish: 2, poolFailoverSubscribe: 2, poolFailoverMessage: 1 });
      server.retried = new Set();
      assert.deepEqual(await user.message('bob', 'again'), { ok: true, recipients: 1 });
      assert.equal(failovers.poolFailoverMessage, 1, 'a reply without the header is no failover');
      server.retried = new Set(['REGISTER', 'PUBLISH', 'SUBSCRIBE']);
      await user.logoff();
      // un-PUBLISH and un-REGISTER are out of dialog; the un-SUBSCRIBEs go in the dialog, never re-sent.
      assert.deepEqual(failovers, { poolFailoverRegister: 2, poolFailoverPublish: 3, poolFailoverSubscribe: 2, poolFailoverMessage: 1 });
      assert.deepEqual(errors, []);
    } finally {
      user.destroy();
    }
  });
});

test('a re-sent transaction the other front end refused is a failure only, not also a failover', async () => {
  await withAgent('pager', async (server, agent) => {
    const { failovers, events } = recorder();
    const user = agent.createUser({ index: 0, name: 'alice', contacts: [], channels: [] }, events);
    try {
      await user.logon();
      server.retried = new Set(['MESSAGE', 'PUBLISH']);
      server.refused = new Set(['MESSAGE', 'PUBLISH']);
      const outcome = await user.message('bob', 'hi');
      assert.equal(outcome.ok, false);
      await assert.rejects(user.setPresence('busy', ''), /PUBLISH/);
      assert.deepEqual(failovers, {});
    } finally {
      user.destroy();
    }
  });
});

test('an IM session whose INVITE was re-sent counts as retried when its MESSAGE went through, and only then', async () => {
  await withAgent('session', async (server, agent) => {
    const { failovers, events } = recorder();
    const user = agent.createUser({ index: 0, name: 'alice', contacts: [], channels: [] }, events);
    try {
      await user.logon();
      server.retried = new Set(['INVITE']);
      assert.deepEqual(await user.message('bob', 'hi'), { ok: true, recipients: 1 });
      assert.deepEqual(failovers, { poolFailoverInvite: 1 });
      server.refused = new Set(['MESSAGE']);
      assert.equal((await user.message('bob', 'lost')).ok, false);
      assert.deepEqual(failovers, { poolFailoverInvite: 1 }, 'the session failed: its retried INVITE is not booked as a retry');
    } finally {
      user.destroy();
    }
  });
});
