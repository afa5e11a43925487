/**
 * The live outputs' sender: bodies arrive in order, one at a time, over one kept-alive
 * connection; a receiver that is down or falls behind is counted and named, never thrown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { PostQueue } from '../../src/outputs/post-queue.js';

async function receiver(answer: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/v1/metrics`);
  return { url, server, connections: () => connections };
}

test('bodies arrive in order over one kept-alive connection, with the given headers', async () => {
  const got: Array<{ body: string; type: string | undefined }> = [];
  const r = await receiver((req, body, res) => {
    got.push({ body, type: req.headers['content-type'] });
    res.writeHead(200).end('{}');
  });
  try {
    const queue = new PostQueue(r.url, { 'Content-Type': 'application/json' });
    for (let i = 0; i < 5; i++) queue.push(`{"second":${i}}`);
    assert.deepEqual(await queue.stop(), { sent: 5, failed: 0 });
    assert.deepEqual(got.map((g) => g.body), [0, 1, 2, 3, 4].map((i) => `{"second":${i}}`));
    assert.ok(got.every((g) => g.type === 'application/json'));
    assert.equal(r.connections(), 1, 'one connection for every second');
  } finally {
    r.server.close();
  }
});

test('a refusal is counted with the status and body; a receiver that is down, with the cause', async () => {
  const r = await receiver((_req, _body, res) => res.writeHead(400).end('out of order sample'));
  const port = r.url.port;
  try {
    const refused = new PostQueue(r.url, {});
    refused.push(new Uint8Array([1, 2, 3]));
    assert.deepEqual(await refused.stop(), { sent: 0, failed: 1, error: 'HTTP 400: out of order sample' });
  } finally {
    await new Promise((resolve) => r.server.close(resolve));
  }
  const down = new PostQueue(new URL(`http://127.0.0.1:${port}/api/v1/write`), {});
  down.push('x');
  down.push('y');
  const result = await down.stop();
  assert.equal(result.sent, 0);
  assert.equal(result.failed, 2);
  assert.match(result.error ?? '', /ECONNREFUSED/);
});

test('past maxQueue seconds behind, the oldest are dropped and counted', async () => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const got: string[] = [];
  const r = await receiver((_req, body, res) => {
    got.push(body);
    void held.then(() => res.writeHead(204).end());
  });
  try {
    const queue = new PostQueue(r.url, {}, 2);
    // The first is in flight; of the four behind it, two fit the queue.
    for (const body of ['a', 'b', 'c', 'd', 'e']) queue.push(body);
    release();
    assert.deepEqual(await queue.stop(), { sent: 3, failed: 2, error: 'the receiver fell behind: oldest seconds dropped' });
    assert.deepEqual(got, ['a', 'd', 'e']);
  } finally {
    r.server.close();
  }
});
