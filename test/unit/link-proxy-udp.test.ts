/**
 * The datagram link emulator against a local UDP echo server: it relays per client, adds delay,
 * drops at the configured rate (seeded), and stays bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { startUdpLinkProxy, type UdpLinkProxy, type UdpLinkProxyOptions } from '../../src/faults/udp-link-proxy.js';
import { until } from '../helpers/until.js';

async function bind(socket: Socket): Promise<number> {
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket.address().port;
}

async function withProxy(options: Partial<UdpLinkProxyOptions>, body: (proxy: UdpLinkProxy) => Promise<void>): Promise<void> {
  const echo = createSocket('udp4');
  echo.on('message', (datagram, from) => echo.send(datagram, from.port, from.address));
  const targetPort = await bind(echo);
  const proxy = await startUdpLinkProxy({ targetHost: '127.0.0.1', targetPort, ...options });
  try {
    await body(proxy);
  } finally {
    await proxy.close();
    echo.close();
  }
}

/** A client that sends datagrams through the proxy and collects the echoes. */
async function client(port: number) {
  const socket = createSocket('udp4');
  await bind(socket);
  const received: string[] = [];
  socket.on('message', (datagram) => received.push(datagram.toString()));
  return {
    received,
    send: (text: string) => socket.send(text, port, '127.0.0.1'),
    close: () => socket.close(),
  };
}

test('relays each client to the server and the answers back to that client, counting datagrams', async () => {
  await withProxy({}, async (proxy) => {
    const a = await client(proxy.port);
    const b = await client(proxy.port);
    a.send('from a');
    b.send('from b');
    await until(() => a.received.length === 1 && b.received.length === 1, 'both answers');
    assert.deepEqual([a.received, b.received], [['from a'], ['from b']]);
    const stats = proxy.stats();
    assert.equal(stats.clients, 2);
    assert.equal(stats.upstreamDatagrams, 2);
    assert.equal(stats.downstreamDatagrams, 2);
    a.close();
    b.close();
  });
});

test('added delay per direction: 100 ms each way is a round trip of ≥ 200 ms', async () => {
  await withProxy({}, async (proxy) => {
    proxy.setDelay(100);
    const c = await client(proxy.port);
    const started = Date.now();
    c.send('ping');
    await until(() => c.received.length === 1, 'the answer');
    const ms = Date.now() - started;
    assert.ok(ms >= 195 && ms < 1000, `round trip ${ms} ms`);
    c.close();
  });
});

test('loss: 100 % drops everything, 30 % drops about that share (seeded)', async () => {
  // mulberry32: a small seeded generator, so the drop count is the same on every run.
  let state = 7;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  await withProxy({ random }, async (proxy) => {
    const c = await client(proxy.port);
    proxy.setLoss(100, 'upstream');
    for (let i = 0; i < 20; i++) c.send(`lost ${i}`);
    await until(() => proxy.stats().dropped === 20, '20 drops');
    assert.equal(c.received.length, 0);
    proxy.setLoss(30, 'upstream');
    const before = proxy.stats();
    for (let i = 0; i < 400; i++) {
      c.send(`maybe ${i}`);
      // Paced, so the kernel's socket buffers do not drop datagrams of their own.
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const judged = () => proxy.stats().dropped - before.dropped + proxy.stats().upstreamDatagrams - before.upstreamDatagrams;
    await until(() => judged() === 400, 'the proxy to judge all 400 datagrams');
    const after = proxy.stats();
    const dropped = after.dropped - before.dropped;
    const passed = after.upstreamDatagrams - before.upstreamDatagrams;
    const share = dropped / (dropped + passed);
    assert.ok(share > 0.22 && share < 0.38, `dropped ${dropped} of ${dropped + passed}`);
    await until(() => c.received.length >= passed, 'every passed datagram to come back');
    assert.equal(c.received.length, passed, 'everything the proxy let through came back');
    c.close();
  });
});

test('bounded: clients, held datagrams and delays are capped; targets must be loopback', async () => {
  await withProxy({ maxClients: 1, maxHeldDatagrams: 5 }, async (proxy) => {
    assert.throws(() => proxy.setDelay(-1), RangeError);
    assert.throws(() => proxy.setLoss(101), RangeError);
    const first = await client(proxy.port);
    const second = await client(proxy.port);
    proxy.setDelay(200, 0, 'upstream');
    for (let i = 0; i < 10; i++) first.send(`d${i}`);
    second.send('refused');
    await until(() => proxy.stats().dropped === 6, '6 drops');
    assert.equal(proxy.stats().held, 5);
    assert.equal(proxy.stats().dropped, 6, '5 beyond the held bound, 1 from a client beyond the cap');
    await until(() => first.received.length === 5, 'the 5 held datagrams');
    first.close();
    second.close();
  });
  await assert.rejects(startUdpLinkProxy({ targetHost: '192.0.2.1', targetPort: 1 }), /not on loopback/);
});
