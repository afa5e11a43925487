/**
 * Access control of the RVP server on the wire: a principal changes only its own node
 * (PROPPATCH elsewhere is 403, authenticated or trusted), one source address holds a bounded
 * number of connections, and one connection has one request in progress at a time.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { runRvpServer, type RvpServerHandle } from '../../src/protocols/rvp/server/server.js';
import { CallbackListener, WireClient, basicAuthorization, exchange, imBody, proppatchState, request } from './rvp-wire-helpers.js';
import { until } from '../helpers/until.js';

const PASSWORD = 'access-test-secret';
const node = (alias: string) => `/instmsg/aliases/${alias}`;
const logical = (alias: string) => `http://im.example.com/instmsg/aliases/${alias}`;
let authed: RvpServerHandle;
let trusting: RvpServerHandle;

before(async () => {
  process.env.RVP_ACCESS_TEST_PASSWORD = PASSWORD;
  authed = await runRvpServer({
    role: 'combined',
    domain: 'im.example.com',
    users: { pattern: 'u{index:2}', count: 10 },
    password: { env: 'RVP_ACCESS_TEST_PASSWORD' },
    auth: ['basic'],
    maxConnectionsPerAddress: 3,
  });
  trusting = await runRvpServer({ role: 'combined', domain: 'im.example.com', users: { pattern: 'u{index:2}', count: 10 }, auth: [] });
});
after(async () => {
  await authed.close();
  await trusting.close();
});

const as = (alias: string) => ({ Authorization: basicAuthorization(alias, PASSWORD) });

test('PROPPATCH: the owner sets its own state (207); another principal gets 403 and the state is unchanged', async () => {
  assert.equal((await exchange(authed.port, request('PROPPATCH', node('u01'), as('u01'), proppatchState('busy', 600)))).status, 207);
  const forged = await exchange(authed.port, request('PROPPATCH', node('u01'), as('u02'), proppatchState('offline', 600)));
  assert.equal(forged.status, 403);
  const props = await exchange(authed.port, request('PROPFIND', node('u01'), { ...as('u01'), Depth: '0' }));
  assert.match(props.body, /busy/, 'u02 did not change u01');
  assert.equal((await exchange(authed.port, request('PROPPATCH', node('u01'), {}, proppatchState('offline', 600)))).status, 401, 'no credentials: challenged');
});

test('PROPPATCH without authentication: a principal named in RVP-From-Principal may not change another node', async () => {
  const forged = await exchange(trusting.port, request('PROPPATCH', node('u03'), { 'RVP-From-Principal': logical('u04') }, proppatchState('away', 600)));
  assert.equal(forged.status, 403);
  const own = await exchange(trusting.port, request('PROPPATCH', node('u03'), { 'RVP-From-Principal': logical('u03') }, proppatchState('away', 600)));
  assert.equal(own.status, 207);
});

function open(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function readAll(socket: Socket, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms: ${text}`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

test('connections per source address are capped (503, closed); other addresses and freed slots still work', async () => {
  const held = await Promise.all([1, 2, 3].map(() => open(authed.port, '127.0.0.2')));
  try {
    const extra = await open(authed.port, '127.0.0.2');
    extra.write(request('PROPFIND', node('u05'), { ...as('u05'), Depth: '0' }));
    const refused = await readAll(extra);
    assert.match(refused, /^HTTP\/1\.1 503 [^\r]*\r\n/);
    assert.match(refused, /too many connections from this address/);
    // Another address is not affected.
    assert.equal((await exchange(authed.port, request('PROPFIND', node('u05'), { ...as('u05'), Depth: '0' }))).status, 207);
    held[0]!.destroy();
    // The slot is free once the server has seen every close but held[1] and held[2]'s (a retry at
    // once would race the server's view of its own refusals, which count while they are open).
    await until(() => authed.stats().connections === 2, 'the server to see the closes');
    const again = await open(authed.port, '127.0.0.2');
    again.write(request('PROPFIND', node('u05'), { ...as('u05'), Depth: '0', Connection: 'close' }));
    assert.match(await readAll(again), /^HTTP\/1\.1 207 /, 'a freed slot is usable again');
  } finally {
    for (const socket of held) socket.destroy();
  }
  const stats = authed.stats();
  assert.ok(stats.totals.rejected503 >= 1);
});

test('one request in progress per connection: pipelined requests wait behind a held NOTIFY, then answer in order', async () => {
  const slow = await new CallbackListener().start();
  slow.answer = 'hold';
  const client = new WireClient(trusting.port);
  try {
    const principal = (alias: string) => ({ 'RVP-From-Principal': logical(alias) });
    const login = request('SUBSCRIBE', node('u07'), { ...principal('u07'), 'Notification-Type': 'pragma/notify', 'Call-Back': slow.url('/'), 'Subscription-Lifetime': '600' });
    assert.equal((await exchange(trusting.port, login)).status, 200);
    assert.equal((await exchange(trusting.port, request('PROPPATCH', node('u07'), principal('u07'), proppatchState('online', 600)))).status, 207);
    const pipelined = [request('NOTIFY', node('u07'), principal('u08'), imBody(logical('u08'), logical('u07'), 'held'))];
    for (let i = 0; i < 50; i++) pipelined.push(request('PROPFIND', node('u08'), { ...principal('u08'), Depth: '0' }));
    client.write(pipelined.join(''));
    await slow.waitFor((r) => r.body.includes('held'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(trusting.stats().queueDepth, 1, 'only the NOTIFY is in progress; the 50 PROPFINDs wait');
    // The callback goes away: the NOTIFY fails (nobody to deliver to), then the queue moves on.
    await slow.close();
    assert.ok((await client.next()).status >= 400);
    for (let i = 0; i < 50; i++) assert.equal((await client.next()).status, 207);
    assert.equal(trusting.stats().queueDepth, 0);
  } finally {
    client.close();
    await slow.close().catch(() => {});
  }
});
