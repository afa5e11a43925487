/**
 * The RVP server as separate processes started by src/protocols/rvp/lab.ts: a router and two home
 * servers. Raw sockets: 302 from the router, Digest at the home server, presence across homes
 * via the peer relay, the router's aggregated online count, and stop by PID.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRvpLab, type RvpLab } from '../../src/protocols/rvp/lab.js';
import { CallbackListener, digestAuthorization, exchange, proppatchState, request, type WireResponse } from '../unit/rvp-wire-helpers.js';

const PASSWORD = 'lab-pass';
const logical = (alias: string) => `http://im.example.com/instmsg/aliases/${alias}`;
let lab: RvpLab;

before(async () => {
  // 20 users: u000000-u000009 on home 1, u000010-u000019 on home 2.
  lab = await startRvpLab({ topology: 'routed', homes: 2, userCount: 20, password: PASSWORD });
});
after(() => lab?.stop());

/** Sends to `port`, answers one 401 with Digest; returns the final response. */
async function authed(port: number, user: string, method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<WireResponse> {
  const first = await exchange(port, request(method, target, headers, body));
  if (first.status !== 401) return first;
  const challenge = first.headers.get('www-authenticate')!.find((v) => v.startsWith('Digest'))!;
  return exchange(port, request(method, target, { ...headers, Authorization: digestAuthorization(challenge, user, PASSWORD, method, target) }, body));
}

/** Follows the router's 302 and returns the home port and physical path of `alias`. */
async function locate(alias: string): Promise<{ port: number; path: string }> {
  const referral = await exchange(lab.router!.port, request('SUBSCRIBE', `/instmsg/aliases/${alias}`, { 'Notification-Type': 'pragma/notify', 'Call-Back': 'http://127.0.0.1:9/' }));
  assert.equal(referral.status, 302);
  const location = new URL(referral.header('location')!);
  return { port: Number(location.port), path: location.pathname };
}

test('the lab starts a router and two homes as their own processes with distinct PIDs', () => {
  assert.equal(lab.homes.length, 2);
  const pids = new Set(lab.all.map((s) => s.pid));
  assert.equal(pids.size, 3);
  assert.ok(!pids.has(process.pid));
  for (const server of lab.all) assert.match(server.url, /^rvp:\/\/127\.0\.0\.1:\d+$/);
});

test('the router answers 302 to the home server physical URL; the home server accepts it with Digest', async () => {
  const first = await locate('u000003');
  assert.equal(first.port, lab.homes[0]!.port);
  assert.equal(first.path, '/instmsg/local/im.example.com/instmsg/aliases/u000003');
  const second = await locate('u000015');
  assert.equal(second.port, lab.homes[1]!.port);
  const login = await authed(first.port, 'u000003', 'SUBSCRIBE', first.path, { 'Notification-Type': 'pragma/notify', 'Call-Back': 'http://127.0.0.1:9/', 'Subscription-Lifetime': '14400' });
  assert.equal(login.status, 200);
  assert.ok(login.header('subscription-id'));
  const wrongHome = await exchange(lab.homes[1]!.port, request('PROPFIND', first.path, { Depth: '0' }));
  assert.equal(wrongHome.status, 302, 'a home server refers requests for users homed elsewhere');
});

test('presence crosses home servers: a watcher on home 1 sees a contact on home 2 change', async () => {
  const watcherCallback = await new CallbackListener().start();
  try {
    const watcher = await locate('u000001');
    const contact = await locate('u000011');
    assert.equal((await authed(watcher.port, 'u000001', 'SUBSCRIBE', watcher.path, { 'Notification-Type': 'pragma/notify', 'Call-Back': watcherCallback.url('/w'), 'Subscription-Lifetime': '14400' })).status, 200);
    assert.equal((await authed(watcher.port, 'u000001', 'PROPPATCH', watcher.path, {}, proppatchState('online', 1200))).status, 207);
    const watch = await authed(contact.port, 'u000001', 'SUBSCRIBE', contact.path, { 'Notification-Type': 'update/propchange', 'Call-Back': logical('u000001'), 'Subscription-Lifetime': '14400' });
    assert.equal(watch.status, 207);
    assert.equal((await authed(contact.port, 'u000011', 'SUBSCRIBE', contact.path, { 'Notification-Type': 'pragma/notify', 'Call-Back': 'http://127.0.0.1:9/', 'Subscription-Lifetime': '14400' })).status, 200);
    assert.equal((await authed(contact.port, 'u000011', 'PROPPATCH', contact.path, {}, proppatchState('busy', 1200, 'in a meeting'))).status, 207);
    const seen = await watcherCallback.waitFor((r) => r.body.includes('aliases/u000011') && r.body.includes('<r:busy/>'));
    assert.equal(seen.target, '/w');
    assert.equal(seen.headers.get('rvp-hop-count'), '3', 'home 2 → home 1 (hop 2) → client (hop 3)');
    assert.match(seen.body, /in a meeting/);

    const stats = JSON.parse((await exchange(lab.router!.port, request('GET', '/imload/stats'))).body) as { role: string; online: number };
    assert.equal(stats.role, 'router');
    assert.equal(stats.online, 2, 'the router sums its homes: u000001 and u000011 are online');
  } finally {
    await watcherCallback.close();
  }
});

test('stop() ends every server process by PID', async () => {
  const pids = lab.all.map((s) => s.pid);
  await lab.stop();
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
});
