/**
 * The live page's server (src/live/server.ts): server-sent events as framed on the wire, streams
 * that clients close, the loopback rule for --dashboard, and the page/404/405 answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, request, type IncomingMessage } from 'node:http';
import { DashboardAddressError, frameEvent, parseDashboardAddress, SseServer } from '../../src/live/server.js';

test('frameEvent: an event line, one data line of JSON, a blank line', () => {
  assert.equal(frameEvent('update', { a: 1, text: 'two\nlines' }), 'event: update\ndata: {"a":1,"text":"two\\nlines"}\n\n');
  assert.throws(() => frameEvent('bad\nname', {}), /line break/);
});

test('parseDashboardAddress: loopback and a free port by default; another host only with allowRemote', () => {
  assert.deepEqual(parseDashboardAddress(true), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseDashboardAddress(''), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseDashboardAddress('8089'), { host: '127.0.0.1', port: 8089 });
  assert.deepEqual(parseDashboardAddress(':8089'), { host: '127.0.0.1', port: 8089 });
  assert.deepEqual(parseDashboardAddress('127.0.0.2:0'), { host: '127.0.0.2', port: 0 });
  assert.deepEqual(parseDashboardAddress('localhost:9000'), { host: 'localhost', port: 9000 });
  assert.deepEqual(parseDashboardAddress('[::1]:9000'), { host: '::1', port: 9000 });
  assert.throws(() => parseDashboardAddress('0.0.0.0:8089'), (e: Error) => e instanceof DashboardAddressError && /not on loopback.*--allow-remote/.test(e.message));
  assert.throws(() => parseDashboardAddress('192.168.1.5'), DashboardAddressError);
  assert.deepEqual(parseDashboardAddress('0.0.0.0:8089', true), { host: '0.0.0.0', port: 8089 });
  assert.throws(() => parseDashboardAddress('127.0.0.1:70000'), /not host:port/);
  assert.throws(() => parseDashboardAddress('127.0.0.1:http'), /not host:port/);
});

/** Reads server-sent events from a response as they arrive. */
function eventReader(response: IncomingMessage) {
  let buffer = '';
  const events: Array<{ event: string; data: unknown }> = [];
  const waiters: Array<() => void> = [];
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (event !== undefined) events.push({ event, data: JSON.parse(data) });
    }
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    events,
    async next(count: number): Promise<void> {
      while (events.length < count) await new Promise<void>((wake) => waiters.push(wake));
    },
  };
}

function open(url: string, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(new URL(path, url), resolve).on('error', reject));
}

function body(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (c: string) => (text += c));
    response.on('end', () => resolve(text));
  });
}

/** Waits (turn by turn, with a deadline) until the server's count of streams is `n`. */
async function clientsBecome(server: SseServer, n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (server.clientCount !== n) {
    if (Date.now() > deadline) assert.fail(`expected ${n} clients, have ${server.clientCount}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('SseServer: the page, a greeting then broadcast events, a client that goes away, close ends the streams', async () => {
  let served = 0;
  const server = new SseServer({ page: () => `<p>page ${++served}</p>`, greeting: () => [{ event: 'update', data: { n: 0 } }] });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await open(url, '/');
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.equal(await body(page), '<p>page 1</p>');
    const missing = await open(url, '/nothing');
    assert.equal(missing.statusCode, 404);
    await body(missing);
    const post = await new Promise<IncomingMessage>((resolve, reject) => request(new URL('/events', url), { method: 'POST' }, resolve).on('error', reject).end());
    assert.equal(post.statusCode, 405);
    await body(post);

    const first = await open(url, '/events');
    assert.equal(first.statusCode, 200);
    assert.match(String(first.headers['content-type']), /^text\/event-stream/);
    const a = eventReader(first);
    await a.next(1);
    assert.deepEqual(a.events[0], { event: 'update', data: { n: 0 } });
    const second = await open(url, '/events');
    const b = eventReader(second);
    await b.next(1);
    await clientsBecome(server, 2);

    server.broadcast('update', { n: 1 });
    await Promise.all([a.next(2), b.next(2)]);
    assert.deepEqual(a.events[1], { event: 'update', data: { n: 1 } });
    assert.deepEqual(b.events[1], { event: 'update', data: { n: 1 } });

    // The second client leaves: the server drops its stream and broadcasts to the first only.
    second.destroy();
    await clientsBecome(server, 1);
    server.broadcast('final', { n: 2 });
    await a.next(3);
    assert.deepEqual(a.events[2], { event: 'final', data: { n: 2 } });
    assert.equal(b.events.length, 2);

    const ended = new Promise<void>((resolve) => first.on('end', resolve));
    await server.close();
    await ended;
    assert.equal(server.clientCount, 0);
    // (a pooled keep-alive socket may see the close as a hang-up rather than a refusal)
    await assert.rejects(open(url, '/'), /ECONNREFUSED|socket hang up|ECONNRESET/);
  } finally {
    await server.close().catch(() => {});
  }
});

test('SseServer: a page that cannot be rendered answers 500 with the reason, and the server keeps serving', async () => {
  let fail = true;
  const server = new SseServer({ page: () => { if (fail) throw new Error('no header yet'); return 'ok'; } });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const broken = await open(url, '/');
    assert.equal(broken.statusCode, 500);
    assert.match(await body(broken), /no header yet/);
    fail = false;
    assert.equal(await body(await open(url, '/')), 'ok');
  } finally {
    await server.close();
  }
});

test('imload run --dashboard on a host that is not loopback is refused before anything starts (exit 2), unless --allow-remote', async () => {
  const { runCommand } = await import('../../src/commands/run.js');
  const { mkdtempSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const out = join(mkdtempSync(join(tmpdir(), 'imload-dash-')), 'run');
  await assert.rejects(
    runCommand({ file: join(import.meta.dirname, '..', '..', 'scenarios.yaml'), scenario: 'chat-20k', out, quiet: true, dashboard: '0.0.0.0:8089', signal: new AbortController().signal }),
    (e: Error & { exitCode?: number }) => /not on loopback: pass --allow-remote/.test(e.message) && e.exitCode === 2,
  );
  assert.equal(existsSync(join(out, 'journal.ndjson')), false, 'no run started');
});
