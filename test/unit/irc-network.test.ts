/** Network targets (#19): which server each user connects to, the schema, and the linked lab's config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverIndexOf, networkServerOf } from '../../src/protocols/network.js';
import { toAgentTarget } from '../../src/scenarios/target.js';
import { Target } from '../../src/scenarios/schema.js';
import { inspircdConfig } from '../../src/protocols/irc/lab-config.js';
import { parentOf } from '../../src/protocols/irc/lab.js';

test('range spread: consecutive blocks, every server used, every index on a server', () => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 90; i++) counts[serverIndexOf(i, { spread: 'range', users: 90, servers: 3 })]!++;
  assert.deepEqual(counts, [30, 30, 30]);
  assert.equal(serverIndexOf(0, { spread: 'range', users: 10, servers: 4 }), 0);
  assert.equal(serverIndexOf(9, { spread: 'range', users: 10, servers: 4 }), 3);
  // An index beyond the population (never expected) still lands on the last server.
  assert.equal(serverIndexOf(50, { spread: 'range', users: 10, servers: 4 }), 3);
});

test('hash spread: deterministic, within range, roughly even, not in blocks', () => {
  const counts = [0, 0, 0];
  const shape = { spread: 'hash' as const, users: 3000, servers: 3 };
  for (let i = 0; i < 3000; i++) {
    const s = serverIndexOf(i, shape);
    assert.equal(serverIndexOf(i, shape), s);
    counts[s]!++;
  }
  for (const c of counts) assert.ok(c > 850 && c < 1150, `hash spread uneven: ${counts}`);
  const first = Array.from({ length: 30 }, (_, i) => serverIndexOf(i, shape));
  assert.ok(new Set(first).size === 3, 'the first users are spread over every server');
});

test('a single server or none: no split', () => {
  assert.equal(networkServerOf(undefined), undefined);
  assert.equal(networkServerOf({ endpoints: [{ host: '127.0.0.1', port: 1 }], spread: 'range', users: 5 }), undefined);
});

test('schema: network urls/servers/spread; toAgentTarget carries the endpoints', () => {
  const target = Target.parse({
    url: 'irc://127.0.0.1:7001',
    network: { urls: ['irc://127.0.0.1:7001', 'irc://127.0.0.1:7002', 'irc://127.0.0.1:7003'], spread: 'hash' },
  });
  const agent = toAgentTarget('net', target, 300);
  assert.deepEqual(agent.network?.endpoints.map((e) => e.port), [7001, 7002, 7003]);
  assert.equal(agent.network?.spread, 'hash');
  assert.equal(agent.network?.users, 300);
  assert.equal(Target.parse({ url: 'irc://127.0.0.1:7001', network: { servers: 3 } }).network?.spread, 'range');
  assert.equal(toAgentTarget('one', Target.parse({ url: 'irc://127.0.0.1:7001' })).network, undefined);
  assert.equal(Target.safeParse({ url: 'irc://127.0.0.1:7001', network: { spread: 'round-robin' } }).success, false);
  assert.equal(Target.safeParse({ url: 'irc://127.0.0.1:7001', network: { urls: ['not a url'] } }).success, false);
  assert.equal(Target.safeParse({ url: 'irc://127.0.0.1:7001', network: { servers: 0 } }).success, false);
});

test('lab network config: a binary tree; each server its SID, link listener, links to its neighbours, autoconnect to its parent only', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(parentOf), [0, 0, 1, 1, 2, 2]);
  const config = inspircdConfig({
    port: 7002,
    dir: '/tmp/x',
    link: {
      name: 's2.imload.lab',
      sid: '1AX',
      linkPort: 8002,
      password: 'pw',
      peers: [
        { name: 's1.imload.lab', host: '127.0.0.1', port: 9001, autoconnect: true },
        { name: 's4.imload.lab', host: '127.0.0.1', port: 8004, autoconnect: false },
      ],
    },
  });
  assert.match(config, /<server name="s2.imload.lab" [^>]*id="1AX">/);
  assert.match(config, /<module name="spanningtree">/);
  assert.match(config, /<bind address="127.0.0.1" port="8002" type="servers">/);
  assert.match(config, /<link name="s1.imload.lab" ipaddr="127.0.0.1" port="9001"[^>]*sendpass="pw" recvpass="pw">/);
  assert.match(config, /<link name="s4.imload.lab" ipaddr="127.0.0.1" port="8004"/);
  assert.equal(config.match(/<autoconnect /g)?.length, 1);
  assert.match(config, /<autoconnect period="2s" server="s1.imload.lab">/);
  assert.doesNotMatch(inspircdConfig({ port: 1, dir: '/tmp/x' }), /spanningtree/);
});

test('LinkProxy.cut: drops the open connections and refuses new ones until the cut ends', async (t) => {
  const { createServer, connect } = await import('node:net');
  const { startLinkProxy } = await import('../../src/faults/link-proxy.js');
  const echo = createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  t.after(() => echo.close());
  const proxy = await startLinkProxy({ targetHost: '127.0.0.1', targetPort: (echo.address() as { port: number }).port });
  t.after(() => proxy.close());
  const roundTrip = () =>
    new Promise<'ok' | 'closed'>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: proxy.port });
      socket.on('error', () => undefined);
      socket.on('data', () => {
        socket.destroy();
        resolve('ok');
      });
      socket.on('close', () => resolve('closed'));
      socket.write('x');
    });
  const held = connect({ host: '127.0.0.1', port: proxy.port });
  held.on('error', () => undefined);
  const heldClosed = new Promise((r) => held.on('close', r));
  await new Promise((r) => held.once('connect', r));
  held.write('x');
  await new Promise((r) => held.once('data', r));
  assert.equal(proxy.cut(400), 1, 'the open connection was dropped');
  await heldClosed;
  assert.equal(proxy.isCut, true);
  assert.equal(await roundTrip(), 'closed', 'a new connection is refused during the cut');
  assert.ok(proxy.stats().refused >= 1);
  while (proxy.isCut) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await roundTrip(), 'ok', 'the link works again after the cut');
  assert.throws(() => proxy.cut(-1), RangeError);
});
