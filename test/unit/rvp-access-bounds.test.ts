/**
 * Bounds against hostile peers, beyond what rvp-server-framing.test.ts covers (one oversized
 * header line with its CRLF, one oversized body, one slow request):
 * - server: a line that never ends is refused as soon as it passes the head limit (not buffered
 *   until a CRLF); an absurd Content-Length is refused before any body; a swarm of slow partial
 *   requests (heads and bodies trickled) is cut at the deadline while others are served.
 * - agent: a server answering with an endless head, an absurd Content-Length or a trickle fails
 *   the logon with a counted error kind, in bounded time; the agent's callback listener cuts a
 *   trickled NOTIFY at its deadline and refuses an endless line at the head limit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { runRvpServer, type RvpServerHandle } from '../../src/protocols/rvp/server/server.js';
import { rvpProtocol } from '../../src/protocols/rvp/index.js';
import { CallbackListener as AgentCallbackListener } from '../../src/protocols/rvp/callback-listener.js';
import type { VuEvents } from '../../src/protocols/types.js';
import { exchange, request } from './rvp-wire-helpers.js';

const HEAD_LIMIT = 16 * 1024;
const REQUEST_TIMEOUT_MS = 500;
const node = (alias: string) => `/instmsg/aliases/${alias}`;
let server: RvpServerHandle;

before(async () => {
  // The default head and body limits; a short request deadline so the test is quick.
  server = await runRvpServer({ role: 'combined', domain: 'im.example.com', users: { pattern: 'u{index:2}', count: 10 }, auth: [], requestTimeoutMs: REQUEST_TIMEOUT_MS });
});
after(() => server.close());

/** Connects, writes `raw`, and collects what comes back until the server closes (bounded). */
function rawExchange(raw: string, timeoutMs = 3000, port = server.port): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 80))}`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ms: Date.now() - started });
    });
    socket.write(raw);
  });
}

test('a line that never ends is refused with 431 once it passes the head limit, without waiting for a CRLF', async () => {
  const { text, ms } = await rawExchange(`SUBSCRIBE ${node('u01')}?${'a'.repeat(HEAD_LIMIT + 1)}`);
  assert.match(text, /^HTTP\/1\.1 431 /);
  assert.ok(ms < REQUEST_TIMEOUT_MS, `answered in ${ms} ms, before the request deadline`);
  const header = await rawExchange(`PROPFIND ${node('u01')} HTTP/1.1\r\nX-Long: ${'b'.repeat(HEAD_LIMIT + 1)}`);
  assert.match(header.text, /^HTTP\/1\.1 431 /);
});

test('an absurd or malformed Content-Length is refused before any body is read', async () => {
  const huge = await rawExchange(`NOTIFY ${node('u02')} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n`);
  assert.match(huge.text, /^HTTP\/1\.1 413 /);
  for (const bad of ['-5', '12abc', '1e6', '']) {
    const reply = await rawExchange(`NOTIFY ${node('u02')} HTTP/1.1\r\nHost: x\r\nContent-Length: ${bad}\r\n\r\n`);
    assert.match(reply.text, /^HTTP\/1\.1 4\d\d /, `Content-Length "${bad}": ${reply.text.slice(0, 40)}`);
  }
});

test('a swarm of slow partial requests is cut at the deadline, and everyone else is served meanwhile', async () => {
  const SLOW = 60;
  const TRICKLE_MS = 50;
  const sockets: Socket[] = [];
  const outcomes: Promise<{ text: string; ms: number }>[] = [];
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < SLOW; i++) {
    // Half trickle a head that never ends, half a complete head with a body that never ends.
    const head = i % 2 === 0 ? `PROPFIND ${node('u03')} HTTP/1.1\r\nX-Slow: ` : `NOTIFY ${node('u03')} HTTP/1.1\r\nContent-Length: 4000\r\n\r\n`;
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port: server.port });
    sockets.push(socket);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => {});
    outcomes.push(new Promise((resolve) => socket.on('close', () => resolve({ text, ms: Date.now() - started }))));
    socket.write(head);
    // Keeps sending a byte well past the deadline: activity must not extend it.
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || ++sent > 100) return clearInterval(timer);
      socket.write('z');
    }, TRICKLE_MS);
    timers.push(timer);
  }
  try {
    const started = Date.now();
    const normal = await exchange(server.port, request('PROPFIND', node('u04'), { Depth: '0' }));
    assert.equal(normal.status, 207);
    assert.ok(Date.now() - started < REQUEST_TIMEOUT_MS, 'served while the slow ones hang');
    const results = await Promise.race([
      Promise.all(outcomes),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('slow connections not cut in time')), 5000)),
    ]);
    for (const { text, ms } of results) {
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.ok(ms >= REQUEST_TIMEOUT_MS - 50 && ms < REQUEST_TIMEOUT_MS + 1500, `cut after ${ms} ms`);
    }
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const socket of sockets) socket.destroy();
  }
});

/** A hostile "RVP server": reads requests, answers each connection with `behave`. */
async function hostile(behave: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const s = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => behave(socket));
  });
  s.on('close', () => sockets.forEach((socket) => socket.destroy()));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { server: s, port: (s.address() as { port: number }).port };
}

const quietEvents: VuEvents = {
  bytes: () => {},
  message: () => {},
  presence: () => {},
  error: () => {},
  disconnected: () => {},
  note: () => {},
  metric: () => {},
};

const BEHAVIOURS: ReadonlyArray<{ name: string; kinds: RegExp; behave: (socket: Socket) => void }> = [
  {
    name: 'an endless response head',
    kinds: /^protocol-error$/,
    behave: (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nX-Endless: ');
      let chunks = 0;
      const timer = setInterval(() => {
        // Bounded: at most 4 MiB, stops when the agent hangs up.
        if (socket.destroyed || ++chunks > 256) return clearInterval(timer);
        socket.write('x'.repeat(16 * 1024));
      }, 1);
    },
  },
  {
    name: 'an absurd Content-Length',
    kinds: /^protocol-error$/,
    behave: (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n'),
  },
  {
    name: 'a response trickled a byte at a time',
    kinds: /^logon-timeout$/,
    behave: (socket) => {
      const text = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
      let at = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || at >= text.length) return clearInterval(timer);
        socket.write(text[at++]!);
      }, 100);
    },
  },
];

for (const { name, kinds, behave } of BEHAVIOURS) {
  test(`agent: ${name} fails the logon with a counted kind in bounded time`, async () => {
    const peer = await hostile(behave);
    const agent = await rvpProtocol.createAgent({
      name: 'hostile', protocol: 'rvp', host: '127.0.0.1', port: peer.port, transport: 'tcp', domain: 'im.test', options: { requestTimeoutMs: 800 },
    });
    const vu = agent.createUser({ index: 0, name: 'u00', contacts: [], channels: [] }, quietEvents);
    const started = Date.now();
    try {
      await assert.rejects(vu.logon(), (error: Error & { kind?: string }) => kinds.test(error.kind ?? '') || assert.fail(`kind ${error.kind}: ${error.message}`));
      assert.ok(Date.now() - started < 2500, `failed after ${Date.now() - started} ms`);
    } finally {
      vu.destroy();
      await agent.close();
      peer.server.close();
    }
  });
}

test("agent's callback listener: a trickled NOTIFY is cut at its deadline; an endless line is refused at the head limit", async () => {
  const listener = new AgentCallbackListener(REQUEST_TIMEOUT_MS);
  await listener.start('127.0.0.1', 0);
  const port = Number(new URL(listener.urlFor(0)).port);
  try {
    const endless = await rawExchange(`NOTIFY /vu/0?${'a'.repeat(HEAD_LIMIT + 1)}`, 3000, port);
    assert.match(endless.text, /^HTTP\/1\.1 431 /);
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => {});
    socket.write('NOTIFY /vu/0 HTTP/1.1\r\nContent-Length: 100\r\n\r\n');
    const trickle = setInterval(() => socket.write('z'), 50);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    clearInterval(trickle);
    const ms = Date.now() - started;
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(ms >= REQUEST_TIMEOUT_MS - 50 && ms < REQUEST_TIMEOUT_MS + 1500, `cut after ${ms} ms`);
  } finally {
    await listener.close();
  }
});
