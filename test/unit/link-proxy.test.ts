/**
 * The link emulator against local echo and sink servers: it forwards and counts, adds delay
 * without reordering, stalls, caps bandwidth, drops connections, forwards a FIN after the bytes
 * delayed before it, and stays bounded (delays, connections, memory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { startLinkProxy, type LinkProxy, type LinkProxyOptions } from '../../src/faults/link-proxy.js';
import { until } from '../helpers/until.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** An echo server; `close()` also ends the connections it holds. */
async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  const port = await listen(server);
  return {
    port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function withProxy(
  options: Partial<LinkProxyOptions>,
  body: (proxy: LinkProxy, port: number) => Promise<void>,
): Promise<void> {
  const echo = await echoServer();
  const proxy = await startLinkProxy({ targetHost: '127.0.0.1', targetPort: echo.port, ...options });
  try {
    await body(proxy, proxy.port);
  } finally {
    await proxy.close();
    await echo.close();
  }
}

function client(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what arrived once `bytes` bytes did (bounded by `timeoutMs`). */
function receive(socket: Socket, bytes: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const timer = setTimeout(() => reject(new Error(`only ${length} of ${bytes} bytes within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
  });
}

function closed(socket: Socket, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(() => reject(new Error('socket not closed in time')), timeoutMs);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('forwards both ways and counts the bytes it forwarded', async () => {
  await withProxy({}, async (proxy, port) => {
    const socket = await client(port);
    socket.write('hello link');
    assert.equal((await receive(socket, 10)).toString(), 'hello link');
    socket.destroy();
    const stats = proxy.stats();
    assert.equal(stats.upstreamBytes, 10);
    assert.equal(stats.downstreamBytes, 10);
    assert.equal(stats.accepted, 1);
  });
});

test('added delay applies per direction: 100 ms each way is a round trip of ≥ 200 ms', async () => {
  await withProxy({}, async (proxy, port) => {
    const socket = await client(port);
    proxy.setDelay(100);
    const started = Date.now();
    socket.write('x');
    await receive(socket, 1);
    const both = Date.now() - started;
    assert.ok(both >= 195 && both < 1000, `round trip ${both} ms`);
    proxy.setDelay(0, 0, 'downstream');
    const again = Date.now();
    socket.write('y');
    await receive(socket, 1);
    const oneWay = Date.now() - again;
    assert.ok(oneWay >= 95 && oneWay < 195, `round trip with upstream delay only ${oneWay} ms`);
    socket.destroy();
  });
});

test('property: with jitter, bytes arrive complete and in order', async () => {
  await withProxy({}, async (proxy, port) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 2000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 20 }),
        async (chunks, jitterMs) => {
          proxy.setDelay(1, jitterMs);
          const socket = await client(port);
          const expected = Buffer.concat(chunks.map((c) => Buffer.from(c)));
          const arrived = receive(socket, expected.length);
          for (const chunk of chunks) {
            socket.write(chunk);
            await new Promise((resolve) => setImmediate(resolve));
          }
          assert.ok((await arrived).equals(expected));
          socket.destroy();
        },
      ),
      { numRuns: 25 },
    );
  });
});

test('a stall holds every byte for its window, then releases them in order', async () => {
  await withProxy({}, async (proxy, port) => {
    const socket = await client(port);
    proxy.stall(300, 'upstream');
    const started = Date.now();
    socket.write('a');
    socket.write('b');
    const got = await receive(socket, 2);
    const waited = Date.now() - started;
    assert.equal(got.toString(), 'ab');
    assert.ok(waited >= 290, `released after ${waited} ms`);
    socket.destroy();
  });
});

test('a bandwidth cap bounds throughput (50 KB at 100 KB/s takes about 0.5 s)', async () => {
  await withProxy({}, async (proxy, port) => {
    proxy.setBandwidth(100_000, 'upstream');
    const socket = await client(port);
    const started = Date.now();
    socket.write(Buffer.alloc(50_000, 7));
    await receive(socket, 50_000);
    const ms = Date.now() - started;
    assert.ok(ms >= 400 && ms < 2000, `took ${ms} ms`);
    socket.destroy();
  });
});

test('dropAll closes every connection; new connections still work', async () => {
  await withProxy({}, async (proxy, port) => {
    const sockets = await Promise.all([1, 2, 3, 4].map(() => client(port)));
    await until(() => proxy.stats().open === 4, 'the proxy to hold all 4 connections');
    assert.equal(proxy.dropAll(), 4);
    await Promise.all(sockets.map((s) => closed(s)));
    assert.equal(proxy.stats().dropped, 4);
    assert.equal(proxy.stats().open, 0);
    const fresh = await client(port);
    fresh.write('ok');
    assert.equal((await receive(fresh, 2)).toString(), 'ok');
    fresh.destroy();
  });
});

test('dropRandom closes about that share of connections (seeded), dropAllAfter drops at a given time', async () => {
  let state = 42;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  await withProxy({ random }, async (proxy, port) => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => client(port)));
    await until(() => proxy.stats().open === 20, 'the proxy to hold all 20 connections');
    const dropped = proxy.dropRandom(50);
    assert.ok(dropped > 0 && dropped < 20, `dropped ${dropped} of 20`);
    assert.equal(proxy.stats().open, 20 - dropped);
    const started = Date.now();
    proxy.dropAllAfter(200);
    await Promise.all(sockets.map((s) => closed(s)));
    assert.ok(Date.now() - started >= 190);
    assert.equal(proxy.stats().dropped, 20);
  });
});

test("a server's FIN is forwarded after the bytes delayed before it", async () => {
  const server = createServer((socket) => socket.end('bye\r\n'));
  const targetPort = await listen(server);
  const proxy = await startLinkProxy({ targetHost: '127.0.0.1', targetPort });
  try {
    proxy.setDelay(150, 0, 'downstream');
    const socket = await client(proxy.port);
    const got = receive(socket, 5);
    const done = closed(socket);
    assert.equal((await got).toString(), 'bye\r\n');
    await done;
  } finally {
    await proxy.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('bounded: delays and stalls are capped, targets must be loopback, connections are capped', async () => {
  await withProxy({ maxConnections: 2 }, async (proxy, port) => {
    assert.throws(() => proxy.setDelay(-1), RangeError);
    assert.throws(() => proxy.setDelay(10 * 60_000), RangeError);
    assert.throws(() => proxy.stall(Number.NaN), RangeError);
    assert.throws(() => proxy.dropRandom(101), RangeError);
    const held = await Promise.all([client(port), client(port)]);
    await until(() => proxy.stats().open === 2, 'the proxy to hold both connections');
    const third = await client(port);
    await closed(third);
    assert.equal(proxy.stats().refused, 1);
    for (const socket of held) socket.destroy();
  });
  await assert.rejects(startLinkProxy({ targetHost: '10.0.0.1', targetPort: 1 }), /not on loopback/);
});

test('bounded memory: a stalled link pauses the reader instead of queueing everything', async () => {
  await withProxy({ maxQueuedBytes: 64 * 1024 }, async (proxy, port) => {
    proxy.stall(800, 'upstream');
    const socket = await client(port);
    const total = 8 * 1024 * 1024;
    const arrived = receive(socket, total, 15_000);
    socket.write(Buffer.alloc(total, 1));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const queued = proxy.stats().queuedBytes;
    // At most the bound plus one socket read (64 KiB) is held in the proxy.
    assert.ok(queued <= 64 * 1024 + 65_536, `queued ${queued} bytes`);
    assert.equal((await arrived).length, total);
    socket.destroy();
  });
});
