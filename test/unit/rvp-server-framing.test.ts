/**
 * HTTP/1.1 framing, bounds and back-pressure of the RVP server, with raw sockets.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runRvpServer, type RvpServerHandle } from '../../src/protocols/rvp/server/server.js';
import { CallbackListener, WireClient, exchange, imBody, proppatchState, request } from './rvp-wire-helpers.js';

const node = (alias: string) => `/instmsg/aliases/${alias}`;
const logical = (alias: string) => `http://im.example.com/instmsg/aliases/${alias}`;
let server: RvpServerHandle;

before(async () => {
  server = await runRvpServer({
    role: 'combined',
    domain: 'im.example.com',
    users: { pattern: 'u{index:2}', count: 10 },
    auth: [],
    maxHeadBytes: 2048,
    maxBodyBytes: 4096,
    requestTimeoutMs: 300,
    maxInbound: 2,
  });
});
after(() => server.close());

const login = (alias: string, callBack: string) =>
  request('SUBSCRIBE', node(alias), { 'Notification-Type': 'pragma/notify', 'Call-Back': callBack, 'Subscription-Lifetime': '14400' });

test('keep-alive: several requests on one connection, including two pipelined in one write, answered in order', async () => {
  const client = new WireClient(server.port);
  try {
    const first = await client.send(login('u01', 'http://127.0.0.1:9/a'));
    assert.equal(first.status, 200);
    client.write(request('PROPFIND', node('u01'), { Depth: '0' }) + request('SUBSCRIPTIONS', node('u01'), { 'Notification-Type': 'pragma/notify' }));
    const second = await client.next();
    const third = await client.next();
    assert.equal(second.status, 207);
    assert.equal(third.status, 200);
    assert.match(third.body, /<r:subscriptions/);
  } finally {
    client.close();
  }
});

test('bare-LF line endings (Miranda) and an absoluteURI request line are accepted', async () => {
  const lf = await exchange(server.port, request('SUBSCRIBE', node('u02'), { 'Notification-Type': 'pragma/notify', 'Call-Back': 'http://127.0.0.1:9/' }, '', true));
  assert.equal(lf.status, 200);
  const absolute = await exchange(server.port, request('PROPFIND', `http://im.example.com${node('u02')}`, { Depth: '0' }));
  assert.equal(absolute.status, 207);
  const physical = await exchange(server.port, request('PROPFIND', '/instmsg/local/im.example.com/instmsg/aliases/u02', { Depth: '0' }));
  assert.equal(physical.status, 207, 'a home server accepts the physical URL form too');
});

test('malformed request lines and headers get 400 and the server keeps serving', async () => {
  for (const garbage of ['NOT A VALID REQUEST LINE AT ALL\r\n\r\n', 'SUBSCRIBE /x HTTP/1.1\r\nNo colon here\r\n\r\n', 'SUBSCRIBE /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n']) {
    const response = await exchange(server.port, garbage);
    assert.equal(response.status, 400, JSON.stringify(garbage));
    assert.equal(response.header('connection'), 'close');
  }
  assert.equal((await exchange(server.port, request('PROPFIND', node('u03'), { Depth: '0' }))).status, 207);
});

test('malformed XML bodies get 400 and the same connection keeps working', async () => {
  const client = new WireClient(server.port);
  try {
    const bad = await client.send(request('PROPPATCH', node('u04'), { 'Content-Type': 'text/xml' }, '<d:propertyupdate xmlns:d="DAV:"><d:set>'));
    assert.equal(bad.status, 400);
    const unbound = await client.send(request('NOTIFY', node('u04'), {}, '<r:notification><r:message/></r:notification>'));
    assert.equal(unbound.status, 400);
    const doctype = await client.send(request('PROPFIND', node('u04'), { Depth: '0' }, '<!DOCTYPE x [<!ENTITY a "b">]><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>'));
    assert.equal(doctype.status, 400);
    const good = await client.send(request('PROPFIND', node('u04'), { Depth: '0' }, '<d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>'));
    assert.equal(good.status, 207);
  } finally {
    client.close();
  }
});

test('oversized bodies get 413, oversized heads 431, and the server keeps serving', async () => {
  const big = await exchange(server.port, request('NOTIFY', node('u05'), {}, 'x'.repeat(5000)));
  assert.equal(big.status, 413);
  const client = new WireClient(server.port);
  client.write(`SUBSCRIBE ${node('u05')} HTTP/1.1\r\nX-Filler: ${'y'.repeat(3000)}\r\n`);
  const huge = await client.next();
  assert.equal(huge.status, 431);
  await client.closed;
  assert.equal((await exchange(server.port, request('PROPFIND', node('u05'), { Depth: '0' }))).status, 207);
});

test('a request that is not completed in time gets 408 and the connection is closed', async () => {
  const client = new WireClient(server.port);
  client.write(`SUBSCRIBE ${node('u06')} HTTP/1.1\r\nHost: im.example.com\r\n`);
  const response = await client.next(3000);
  assert.equal(response.status, 408);
  await client.closed;
});

test('back-pressure: beyond the inbound queue bound requests get 503; the held ones still complete', async () => {
  const slow = await new CallbackListener().start();
  slow.answer = 'hold';
  const holders = [new WireClient(server.port), new WireClient(server.port)];
  const extra = new WireClient(server.port);
  try {
    assert.equal((await exchange(server.port, login('u07', slow.url('/')))).status, 200);
    assert.equal((await exchange(server.port, request('PROPPATCH', node('u07'), {}, proppatchState('online', 1200)))).status, 207);
    for (const [i, client] of holders.entries()) client.write(request('NOTIFY', node('u07'), {}, imBody(logical('u08'), logical('u07'), `held ${i}`)));
    await slow.waitFor((r) => r.body.includes('held 0'));
    await slow.waitFor((r) => r.body.includes('held 1'));
    const rejected = await extra.send(request('PROPFIND', node('u08'), { Depth: '0' }));
    assert.equal(rejected.status, 503);
    const stats = JSON.parse((await exchange(server.port, request('GET', '/imload/stats'))).body) as { queueDepth: number; totals: { rejected503: number } };
    assert.equal(stats.queueDepth, 2);
    assert.equal(stats.totals.rejected503, 1, 'the stats endpoint bypasses the queue; only the PROPFIND was refused');
  } finally {
    await slow.close();
    for (const client of holders) client.close();
    extra.close();
  }
});
