/**
 * One taxonomy (src/protocols/errors.ts, docs/metrics.md § Error kinds): the same socket failure
 * gets the same kind in every agent. Scripted peers fail the logon of an IRC, an RVP and a SIP
 * user, over TCP and over TLS, the same way: a reset after the first request (connection-reset,
 * on TLS too), a clean close (unexpected-close), nobody listening (connect-refused), and a
 * certificate the user cannot verify (tls-error, the only failure that is TLS's own).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import { ircProtocol } from '../../src/protocols/irc/index.js';
import { rvpProtocol } from '../../src/protocols/rvp/index.js';
import { sipProtocol } from '../../src/protocols/sip/index.js';
import { UdpHub } from '../../src/protocols/sip/udp.js';
import { createLabPki, type LabPki } from '../../src/lab/tls.js';
import { AgentError, classifySocketError, ERROR_KINDS, timeoutKind } from '../../src/protocols/errors.js';
import type { AgentTarget, ProtocolModule, VuEvents } from '../../src/protocols/types.js';

let pki: LabPki;
let secureContext: SecureContext;

before(async () => {
  pki = await createLabPki({ dir: mkdtempSync(join(tmpdir(), 'imload-error-kinds-')), commonName: 'localhost' });
  secureContext = createSecureContext({ cert: readFileSync(pki.certificateFile), key: readFileSync(pki.privateKeyFile) });
});

type Behaviour = 'reset' | 'close';

interface Peer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A peer that accepts, waits for the user's first bytes (over TLS: after a full handshake), then
 * resets the TCP connection (RST) or closes it cleanly (FIN).
 */
async function scriptedPeer(behaviour: Behaviour, tls: boolean): Promise<Peer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => {});
    const act = (): void => {
      if (behaviour === 'reset') raw.resetAndDestroy();
      else raw.end();
    };
    if (!tls) {
      raw.once('data', act);
      return;
    }
    const secure = new TLSSocket(raw, { isServer: true, secureContext });
    secure.on('error', () => {});
    secure.once('data', act);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A loopback UDP port nobody listens on (bound, then released). */
async function closedUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

interface Agent {
  readonly name: string;
  readonly module: ProtocolModule;
  readonly protocol: string;
  readonly tls: boolean;
  readonly options?: Record<string, unknown>;
}

const AGENTS: readonly Agent[] = [
  { name: 'IRC over TCP', module: ircProtocol, protocol: 'irc', tls: false },
  { name: 'IRC over TLS', module: ircProtocol, protocol: 'irc', tls: true },
  { name: 'RVP over HTTP', module: rvpProtocol, protocol: 'rvp', tls: false, options: { requestTimeoutMs: 5000 } },
  { name: 'RVP over HTTPS', module: rvpProtocol, protocol: 'rvp', tls: true, options: { requestTimeoutMs: 5000 } },
  { name: 'SIP over TCP', module: sipProtocol, protocol: 'sip', tls: false },
  { name: 'SIP over TLS', module: sipProtocol, protocol: 'sip', tls: true },
];

function targetFor(agent: Agent, port: number, trustCa: boolean): AgentTarget {
  return {
    name: 't',
    protocol: agent.protocol,
    host: '127.0.0.1',
    port,
    transport: agent.tls ? 'tls' : 'tcp',
    domain: 'im.test',
    tls: agent.tls ? (trustCa ? { ca: pki.caFile } : {}) : undefined,
    options: agent.options ?? {},
  };
}

/** Events that record the kinds reported; every other callback does nothing. */
function recordingEvents(kinds: string[]): VuEvents {
  const record = (kind: string) => kinds.push(kind);
  const handlers: Record<string, unknown> = { error: record, disconnected: (_reason: string, kind?: string) => record(kind ?? 'unexpected-close') };
  return new Proxy({}, { get: (_, name) => handlers[name as string] ?? (() => {}) }) as VuEvents;
}

/** Logs one user on against `port`; the kind its logon failed with (and what its events said). */
async function logonFailure(agent: Agent, port: number, trustCa = true): Promise<{ kind: string; reported: string[] }> {
  const protocolAgent = await agent.module.createAgent(targetFor(agent, port, trustCa));
  const reported: string[] = [];
  const user = protocolAgent.createUser({ index: 0, name: 'u0', password: 'secret', contacts: [], channels: [] }, recordingEvents(reported));
  try {
    const error = await user.logon().then(
      () => assert.fail(`${agent.name}: the logon succeeded`),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof AgentError, `${agent.name}: ${String(error)}`);
    return { kind: error.kind, reported };
  } finally {
    user.destroy();
    await protocolAgent.close();
  }
}

for (const behaviour of ['reset', 'close'] as const) {
  const expected = behaviour === 'reset' ? 'connection-reset' : 'unexpected-close';
  test(`a server that ${behaviour === 'reset' ? 'resets the connection' : 'closes the connection cleanly'} after the first request is ${expected} in every agent, over TLS too`, async () => {
    const kinds: Record<string, string> = {};
    for (const agent of AGENTS) {
      const peer = await scriptedPeer(behaviour, agent.tls);
      try {
        const { kind, reported } = await logonFailure(agent, peer.port);
        kinds[agent.name] = kind;
        // What an agent reports through its events on the way is of the same kind, never another.
        for (const other of reported) assert.equal(other, expected, `${agent.name} also reported ${other}`);
      } finally {
        await peer.close();
      }
    }
    assert.deepEqual(kinds, Object.fromEntries(AGENTS.map((agent) => [agent.name, expected])));
  });
}

test('nobody listening is connect-refused in every agent, over TLS too', async () => {
  const port = await closedPort();
  const kinds: Record<string, string> = {};
  for (const agent of AGENTS) kinds[agent.name] = (await logonFailure(agent, port)).kind;
  assert.deepEqual(kinds, Object.fromEntries(AGENTS.map((agent) => [agent.name, 'connect-refused'])));
});

test('SIP over UDP: an ICMP port unreachable is counted for the run, never as a user\'s error', { timeout: 10_000 }, async () => {
  // The shared sockets belong to no user: a bounce there is the agent's `icmpUnreachable` counter
  // (AgentEvents), while the transaction it hit keeps its own outcome, booked to its user.
  const port = await closedUdpPort();
  const agentSaw: string[] = [];
  let bounced!: () => void;
  const firstBounce = new Promise<void>((resolve) => (bounced = resolve));
  const agent = await sipProtocol.createAgent(
    { name: 't', protocol: 'sip', host: '127.0.0.1', port, transport: 'udp', domain: 'im.test', options: {} },
    {
      bytes: () => undefined,
      metric: (name, value) => {
        agentSaw.push(`metric ${name} ${value}`);
        bounced();
      },
      error: (kind) => agentSaw.push(`error ${kind}`),
      // Which UDP implementation the agent uses is another note, not this test's.
      note: (key) => key !== 'sip-udp-node-dgram' && agentSaw.push(`note ${key}`),
    },
  );
  const userReported: string[] = [];
  const user = agent.createUser({ index: 0, name: 'u0', password: 'secret', contacts: [], channels: [] }, recordingEvents(userReported));
  const logon = user.logon().catch(() => undefined);
  try {
    await firstBounce;
    assert.deepEqual(agentSaw.slice(0, 2), ['metric icmpUnreachable 1', 'note sip-unreachable']);
    assert.ok(!agentSaw.some((entry) => entry.startsWith('error')), agentSaw.join(', '));
    assert.deepEqual(userReported, [], 'the bounce is not the user\'s error');
  } finally {
    user.destroy();
    await logon;
    await agent.close();
  }
});

test('a shared UDP socket hands its ICMP error to the hub\'s counter with its errno', { timeout: 10_000 }, async () => {
  const port = await closedUdpPort();
  const codes: string[] = [];
  let reported!: () => void;
  const seen = new Promise<void>((resolve) => (reported = resolve));
  const hub = await UdpHub.open('127.0.0.1', port, 1, {
    malformed: () => undefined,
    socketError: (error) => {
      codes.push(error.code ?? '');
      reported();
    },
    late: () => undefined,
  });
  const channel = hub.attach(0, 'u0', { receive: () => undefined, closed: () => undefined });
  // The refusal reaches the socket that sent; keep sending until it is reported (a few ms).
  const timer = setInterval(() => channel.send(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n')), 20);
  try {
    await seen;
    assert.equal(codes[0], 'ECONNREFUSED');
    assert.equal(classifySocketError({ code: codes[0] } as NodeJS.ErrnoException, { connecting: false }), 'connect-refused');
  } finally {
    clearInterval(timer);
    hub.close();
  }
});

test('a certificate the user cannot verify is tls-error in every TLS agent', async () => {
  const peer = await scriptedPeer('close', true);
  try {
    const kinds: Record<string, string> = {};
    for (const agent of AGENTS.filter((a) => a.tls)) kinds[agent.name] = (await logonFailure(agent, peer.port, false)).kind;
    assert.deepEqual(kinds, { 'IRC over TLS': 'tls-error', 'RVP over HTTPS': 'tls-error', 'SIP over TLS': 'tls-error' });
  } finally {
    await peer.close();
  }
});

test('the classifier: by error code, never by wording, and timeouts by phase and operation', () => {
  const failure = (code: string, message = `${code} happened`): NodeJS.ErrnoException => Object.assign(new Error(message), { code });
  const connecting = { connecting: true };
  const open = { connecting: false };
  // Node's words for a TLS socket closed mid-handshake name TLS; the code says reset.
  assert.equal(classifySocketError(failure('ECONNRESET', 'Client network socket disconnected before secure TLS connection was established'), connecting), 'connection-reset');
  assert.equal(classifySocketError(failure('EPIPE', 'write EPIPE'), open), 'connection-reset');
  assert.equal(classifySocketError(failure('ECONNREFUSED'), connecting), 'connect-refused');
  assert.equal(classifySocketError(failure('ENOTFOUND', 'getaddrinfo ENOTFOUND irc.invalid'), connecting), 'dns-error');
  assert.equal(classifySocketError(failure('EAI_AGAIN'), connecting), 'dns-error');
  assert.equal(classifySocketError(failure('ETIMEDOUT'), connecting), 'connect-timeout');
  assert.equal(classifySocketError(failure('ERR_TLS_HANDSHAKE_TIMEOUT'), connecting), 'connect-timeout');
  assert.equal(classifySocketError(failure('ETIMEDOUT'), { connecting: false, operation: 'logoff' }), 'logoff-timeout');
  assert.equal(classifySocketError(failure('ETIMEDOUT'), open), 'connection-reset', 'an idle connection the kernel gave up');
  assert.equal(classifySocketError(failure('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), connecting), 'tls-error');
  assert.equal(classifySocketError(failure('ERR_TLS_CERT_ALTNAME_INVALID'), connecting), 'tls-error');
  assert.equal(classifySocketError(failure('ERR_SSL_WRONG_VERSION_NUMBER'), connecting), 'tls-error');
  assert.equal(classifySocketError(failure('EADDRNOTAVAIL'), connecting), 'source-address');
  assert.equal(classifySocketError(failure('EHOSTUNREACH', 'connect EHOSTUNREACH (certificate pending)'), connecting), 'socket-error');
  for (const operation of ['connect', 'logon', 'join', 'send', 'presence', 'logoff', 'refresh'] as const) {
    assert.ok((ERROR_KINDS as readonly string[]).includes(timeoutKind(operation)), operation);
  }
});
