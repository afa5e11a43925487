/**
 * Wire-level conformance of the RVP server's methods (research/rvp.md §6), with raw sockets.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runRvpServer, type RvpServerHandle } from '../../src/protocols/rvp/server/server.js';
import {
  CallbackListener,
  NS,
  basicAuthorization,
  digestAuthorization,
  eventually,
  exchange,
  imBody,
  proppatchState,
  request,
  type WireResponse,
} from './rvp-wire-helpers.js';

const DOMAIN = 'im.example.com';
const PASSWORD = 'pa55-word';
const node = (alias: string) => `/instmsg/aliases/${alias}`;
const logical = (alias: string) => `http://${DOMAIN}/instmsg/aliases/${alias}`;
let server: RvpServerHandle;

before(async () => {
  process.env.RVP_METHODS_TEST_PASSWORD = PASSWORD;
  server = await runRvpServer({
    role: 'combined',
    domain: DOMAIN,
    users: { pattern: 'u{index:3}', count: 40 },
    password: { env: 'RVP_METHODS_TEST_PASSWORD' },
    secondMs: 20,
  });
});
after(() => server.close());

/** Sends a request, answers the 401 challenge with Digest as `user`, returns the final response. */
async function authed(user: string, method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<WireResponse> {
  const challenge = await exchange(server.port, request(method, target, headers, body));
  assert.equal(challenge.status, 401, `${method} without credentials must be challenged`);
  const digest = challenge.headers.get('www-authenticate')!.find((v) => v.startsWith('Digest'))!;
  return exchange(server.port, request(method, target, { ...headers, Authorization: digestAuthorization(digest, user, PASSWORD, method, target) }, body));
}

/** Logs `user` on with a login subscription pointing at `listener` and sets it online. */
async function logOn(user: string, listener: CallbackListener, note?: string): Promise<{ loginId: string; viewId: string }> {
  const login = await authed(user, 'SUBSCRIBE', node(user), { 'Notification-Type': 'pragma/notify', 'Call-Back': listener.url(`/vu/${user}`), 'Subscription-Lifetime': '14400' });
  assert.equal(login.status, 200);
  const patch = await authed(user, 'PROPPATCH', node(user), { 'Content-Type': 'text/xml' }, proppatchState('online', 1200, note));
  assert.equal(patch.status, 207);
  const viewId = /<r:view-id>(\d+)<\/r:view-id>/.exec(patch.body)?.[1];
  assert.ok(viewId, 'PROPPATCH assigns a view-id');
  return { loginId: login.header('subscription-id')!, viewId };
}

test('401 challenge offers Digest (qop=auth, realm = IM domain) and Basic and echoes the RVP version', async () => {
  const response = await exchange(server.port, request('SUBSCRIBE', node('u001'), { 'RVP-Notifications-Version': '1.0', 'Notification-Type': 'pragma/notify', 'Call-Back': 'http://127.0.0.1:9/' }));
  assert.equal(response.status, 401);
  const schemes = response.headers.get('www-authenticate')!;
  assert.match(schemes[0]!, /^Digest .*qop="auth".*realm="im\.example\.com".*nonce="[^"]+"/);
  assert.match(schemes[1]!, /^Basic realm="im\.example\.com"/);
  assert.equal(response.header('rvp-notifications-version'), '1.0');
});

test('Digest with the right password logs on; a wrong password and an unknown user are refused', async () => {
  const target = node('u002');
  const headers = { 'Notification-Type': 'pragma/notify', 'Call-Back': 'http://127.0.0.1:9/x', 'Subscription-Lifetime': '99999' };
  const challenge = (await exchange(server.port, request('SUBSCRIBE', target, headers))).headers.get('www-authenticate')![0]!;
  const wrong = await exchange(server.port, request('SUBSCRIBE', target, { ...headers, Authorization: digestAuthorization(challenge, 'u002', 'nope', 'SUBSCRIBE', target) }));
  assert.equal(wrong.status, 401);
  const stranger = await exchange(server.port, request('SUBSCRIBE', target, { ...headers, Authorization: digestAuthorization(challenge, 'zz9', PASSWORD, 'SUBSCRIBE', target) }));
  assert.equal(stranger.status, 401);
  const ok = await exchange(server.port, request('SUBSCRIBE', target, { ...headers, Authorization: digestAuthorization(challenge, 'EXAMPLE/u002', PASSWORD, 'SUBSCRIBE', target) }));
  assert.equal(ok.status, 200);
  assert.equal(ok.reason, 'Successful');
  assert.match(ok.header('subscription-id')!, /^\S+$/);
  assert.equal(ok.header('subscription-lifetime'), '14400', 'the granted lifetime is capped at 14400 s');
});

test('Basic credentials are accepted; a login SUBSCRIBE on somebody else\'s node is forbidden', async () => {
  const headers = { 'Notification-Type': 'pragma/notify', 'Call-Back': 'http://127.0.0.1:9/', Authorization: basicAuthorization('u003', PASSWORD) };
  assert.equal((await exchange(server.port, request('SUBSCRIBE', node('u003'), headers))).status, 200);
  assert.equal((await exchange(server.port, request('SUBSCRIBE', node('u004'), headers))).status, 403);
});

test('PROPFIND needs Depth: 0 (412), answers 207 with the flattened state and 404 for unknown properties', async () => {
  const body = `<?xml version="1.0"?><d:propfind ${NS}><d:prop><d:displayname/><r:state/><r:no-such/></d:prop></d:propfind>`;
  assert.equal((await authed('u005', 'PROPFIND', node('u006'), {}, body)).status, 412);
  const response = await authed('u005', 'PROPFIND', node('u006'), { Depth: '0' }, body);
  assert.equal(response.status, 207);
  assert.match(response.header('content-type')!, /text\/xml/);
  assert.match(response.body, /<d:href>http:\/\/im\.example\.com\/instmsg\/aliases\/u006<\/d:href>/);
  assert.match(response.body, /<r:state><r:offline\/><\/r:state>.*HTTP\/1\.1 200 Successful/);
  assert.match(response.body, /<r:no-such\/><\/d:prop><d:status>HTTP\/1\.1 404 Not Found/);
});

test('login, presence fan-out to a watcher\'s callback, IM relay acknowledged after the callback, 412 when offline', async () => {
  const alice = await new CallbackListener().start();
  const bob = await new CallbackListener().start();
  try {
    await logOn('u010', alice);
    const watch = await authed('u010', 'SUBSCRIBE', node('u011'), { 'Notification-Type': 'update/propchange', 'Call-Back': logical('u010'), 'Subscription-Lifetime': '14400' });
    assert.equal(watch.status, 207);
    assert.match(watch.body, /<r:state><r:offline\/><\/r:state>/);
    assert.ok(watch.header('subscription-id'));

    const offline = await authed('u010', 'NOTIFY', node('u011'), { 'RVP-Ack-Type': 'DeepOr', 'RVP-Hop-Count': '1', 'Content-Type': 'text/xml' }, imBody(logical('u010'), logical('u011'), 'hi'));
    assert.equal(offline.status, 412, 'a NOTIFY to a principal without a login subscription is 412');

    await logOn('u011', bob, 'back at 3');
    const change = await alice.waitFor((r) => r.method === 'NOTIFY' && r.body.includes('u011') && r.body.includes('<r:online/>'));
    assert.equal(change.target, '/vu/u010', 'the full Call-Back path is honoured');
    assert.match(change.body, /<r:propnotification>/);
    assert.match(change.body, />back at 3</);
    assert.equal(change.headers.get('subscription-id'), watch.header('subscription-id'));

    const sent = await authed('u010', 'NOTIFY', node('u011'), { 'RVP-Ack-Type': 'DeepOr', 'RVP-Hop-Count': '1', 'Content-Type': 'text/xml' }, imBody(logical('u010'), logical('u011'), 'hello bob'));
    assert.equal(sent.status, 200);
    const im = bob.received.find((r) => r.body.includes('hello bob'));
    assert.ok(im, 'the callback had the message before the sender got its 200');
    assert.equal(im.target, '/vu/u011');
    assert.equal(im.headers.get('rvp-hop-count'), '2');

    const spoofed = await authed('u012', 'NOTIFY', node('u011'), { 'Content-Type': 'text/xml' }, imBody(logical('u010'), logical('u011'), 'forged'));
    assert.equal(spoofed.status, 403, 'notification-from must be the authenticated principal');
  } finally {
    await alice.close();
    await bob.close();
  }
});

test('an expiring presence lease reverts to the default and notifies watchers; view-id is assigned', async () => {
  const watcher = await new CallbackListener().start();
  const target = await new CallbackListener().start();
  try {
    await logOn('u020', watcher);
    await authed('u020', 'SUBSCRIBE', node('u021'), { 'Notification-Type': 'update/propchange', 'Call-Back': logical('u020'), 'Subscription-Lifetime': '14400' });
    await authed('u021', 'SUBSCRIBE', node('u021'), { 'Notification-Type': 'pragma/notify', 'Call-Back': target.url('/'), 'Subscription-Lifetime': '14400' });
    const patch = await authed('u021', 'PROPPATCH', node('u021'), {}, proppatchState('busy', 3));
    assert.equal(patch.status, 207);
    assert.match(patch.body, /<r:view-id>\d+<\/r:view-id>/);
    assert.match(patch.body, /<d:timeout>3<\/d:timeout>/);
    await watcher.waitFor((r) => r.body.includes('aliases/u021') && r.body.includes('<r:busy/>'));
    // 3 protocol seconds of 20 ms: the lease runs out and the watcher is told "offline".
    const expired = await watcher.waitFor((r) => r.body.includes('aliases/u021') && r.body.includes('<r:offline/>'));
    assert.match(expired.body, /<r:propnotification>/);
  } finally {
    await watcher.close();
    await target.close();
  }
});

test('a watcher logged on without a state is reachable: contact changes, lease expiry and IMs reach it; a logoff ends that until a new login', async () => {
  const watcher = await new CallbackListener().start();
  const contact = await new CallbackListener().start();
  const im = { 'RVP-Ack-Type': 'DeepOr', 'RVP-Hop-Count': '1', 'Content-Type': 'text/xml' };
  try {
    // u024 logs on (login subscription) and watches u025, but never sets a presence of its own.
    const login = await authed('u024', 'SUBSCRIBE', node('u024'), { 'Notification-Type': 'pragma/notify', 'Call-Back': watcher.url('/first'), 'Subscription-Lifetime': '14400' });
    assert.equal(login.status, 200);
    const watch = await authed('u024', 'SUBSCRIBE', node('u025'), { 'Notification-Type': 'update/propchange', 'Call-Back': logical('u024'), 'Subscription-Lifetime': '14400' });
    assert.equal(watch.status, 207);
    await authed('u025', 'SUBSCRIBE', node('u025'), { 'Notification-Type': 'pragma/notify', 'Call-Back': contact.url('/'), 'Subscription-Lifetime': '14400' });

    assert.equal((await authed('u025', 'PROPPATCH', node('u025'), {}, proppatchState('busy', 3))).status, 207);
    const busy = await watcher.waitFor((r) => r.body.includes('aliases/u025') && r.body.includes('<r:busy/>'));
    assert.equal(busy.target, '/first');
    // 3 protocol seconds of 20 ms: the lease lapses to its default, and the watcher hears of it.
    await watcher.waitFor((r) => r.body.includes('aliases/u025') && r.body.includes('<r:offline/>'));

    const hello = await authed('u025', 'NOTIFY', node('u024'), im, imBody(logical('u025'), logical('u024'), 'to a watcher without a state'));
    assert.equal(hello.status, 200, 'an IM reaches a principal logged on without a state');
    assert.ok(watcher.received.some((r) => r.body.includes('to a watcher without a state')));

    // A logoff (offline set by the watcher itself) makes it unavailable for IMs and presence alike ...
    assert.equal((await authed('u024', 'PROPPATCH', node('u024'), {}, proppatchState('offline', 1200))).status, 207);
    assert.equal((await authed('u025', 'PROPPATCH', node('u025'), {}, proppatchState('away', 1200))).status, 207);
    const afterLogoff = await authed('u025', 'NOTIFY', node('u024'), im, imBody(logical('u025'), logical('u024'), 'after the logoff'));
    assert.equal(afterLogoff.status, 412, 'a logged-off principal is unavailable though its login subscription lives on');

    // ... until it logs on again: the new login reaches it, without a state again.
    const again = await authed('u024', 'SUBSCRIBE', node('u024'), { 'Notification-Type': 'pragma/notify', 'Call-Back': watcher.url('/second'), 'Subscription-Lifetime': '14400' });
    assert.equal(again.status, 200);
    assert.equal((await authed('u025', 'PROPPATCH', node('u025'), {}, proppatchState('on-phone', 1200))).status, 207);
    const onPhone = await watcher.waitFor((r) => r.body.includes('aliases/u025') && r.body.includes('<r:on-phone/>'));
    assert.equal(onPhone.target, '/second', 'only the login made since the logoff is used');
    assert.ok(!watcher.received.some((r) => r.body.includes('<r:away/>') || r.body.includes('after the logoff')), 'nothing reached the logged-off session');
  } finally {
    await watcher.close();
    await contact.close();
  }
});

test('renewal, SUBSCRIPTIONS, UNSUBSCRIBE (200, 501 for a login, 412 unknown) and silent expiry', async () => {
  const cb = await new CallbackListener().start();
  try {
    const { loginId } = await logOn('u030', cb);
    const watch = await authed('u031', 'SUBSCRIBE', node('u030'), { 'Notification-Type': 'update/propchange', 'Call-Back': logical('u031'), 'Subscription-Lifetime': '600' });
    const id = watch.header('subscription-id')!;
    const renewed = await authed('u031', 'SUBSCRIBE', node('u030'), { 'Subscription-Id': id, 'Subscription-Lifetime': '900' });
    assert.equal(renewed.status, 200);
    assert.equal(renewed.header('subscription-id'), id);
    assert.equal(renewed.header('subscription-lifetime'), '900');
    assert.equal(renewed.body, '', 'a renewal gets no XML');

    const list = await authed('u030', 'SUBSCRIPTIONS', node('u030'), { 'Notification-Type': 'update/propchange' });
    assert.equal(list.status, 200);
    assert.match(list.body, new RegExp(`<r:subscription-id>${id}</r:subscription-id><d:href>http://im.example.com/instmsg/aliases/u031</d:href>`));
    assert.match(list.body, /<d:timeout>\d+<\/d:timeout>/);
    assert.equal((await authed('u031', 'SUBSCRIPTIONS', node('u030'))).status, 403);

    assert.equal((await authed('u030', 'UNSUBSCRIBE', node('u030'), { 'Subscription-Id': loginId })).status, 501);
    assert.equal((await authed('u031', 'UNSUBSCRIBE', node('u030'), { 'Subscription-Id': id })).status, 200);
    assert.equal((await authed('u031', 'UNSUBSCRIBE', node('u030'), { 'Subscription-Id': id })).status, 412);

    const short = await authed('u032', 'SUBSCRIBE', node('u030'), { 'Notification-Type': 'update/propchange', 'Call-Back': logical('u032'), 'Subscription-Lifetime': '2' });
    const shortId = short.header('subscription-id')!;
    await eventually(async () => !(await authed('u030', 'SUBSCRIPTIONS', node('u030'))).body.includes(`<r:subscription-id>${shortId}<`));
    const late = await authed('u032', 'SUBSCRIBE', node('u030'), { 'Subscription-Id': shortId, 'Subscription-Lifetime': '2' });
    assert.equal(late.status, 412, 'an expired subscription cannot be renewed');
  } finally {
    await cb.close();
  }
});

test('ACL: read gives an a:rvpacl; denied send-to and presence are enforced; an ACE without credentials is 400', async () => {
  const cb = await new CallbackListener().start();
  try {
    await logOn('u035', cb);
    const read = await authed('u035', 'ACL', node('u035'));
    assert.equal(read.status, 200);
    assert.match(read.body, /<a:rvpacl[^>]*><a:acl><a:inheritance>none<\/a:inheritance>.*<a:allprincipals\/>/);
    const denyBody = (credentials: string) =>
      `<?xml version="1.0"?><a:rvpacl ${NS}><a:acl><a:ace><a:principal><a:rvp-principal> ${logical('u036')} </a:rvp-principal>` +
      `<a:credentials>${credentials}</a:credentials></a:principal><a:grant/><a:deny><a:send-to/><a:presence/></a:deny></a:ace></a:acl></a:rvpacl>`;
    const noCredentials = await authed('u035', 'ACL', node('u035'), { 'Content-Type': 'text/xml' }, denyBody(''));
    assert.equal(noCredentials.status, 400);
    assert.equal(noCredentials.reason, 'credentials not specified');
    assert.equal((await authed('u036', 'ACL', node('u035'), {}, denyBody('<a:digest/>'))).status, 403, 'only the owner writes the ACL');
    const set = await authed('u035', 'ACL', node('u035'), { 'Content-Type': 'text/xml' }, denyBody('<a:digest/>'));
    assert.equal(set.status, 200);
    assert.match(set.body, /aliases\/u036<\/a:rvp-principal>.*<a:deny><a:send-to\/><a:presence\/><\/a:deny>/);
    const im = await authed('u036', 'NOTIFY', node('u035'), { 'Content-Type': 'text/xml' }, imBody(logical('u036'), logical('u035'), 'blocked'));
    assert.equal(im.status, 403);
    const sub = await authed('u036', 'SUBSCRIBE', node('u035'), { 'Notification-Type': 'update/propchange', 'Call-Back': logical('u036') });
    assert.equal(sub.status, 403);
    const other = await authed('u037', 'NOTIFY', node('u035'), { 'Content-Type': 'text/xml' }, imBody(logical('u037'), logical('u035'), 'allowed'));
    assert.equal(other.status, 200);
    assert.ok(cb.received.some((r) => r.body.includes('allowed')) && !cb.received.some((r) => r.body.includes('blocked')));
  } finally {
    await cb.close();
  }
});

test('methods outside RVP: 501 for GET/POST/OPTIONS and unknown methods, 405 for COPY/MOVE, 404 for unknown nodes', async () => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'LOCK', 'UNLOCK', 'OPTIONS', 'BREW']) {
    assert.equal((await exchange(server.port, request(method, node('u001')))).status, 501, method);
  }
  for (const method of ['COPY', 'MOVE']) assert.equal((await exchange(server.port, request(method, node('u001')))).status, 405, method);
  assert.equal((await exchange(server.port, request('SUBSCRIBE', node('nobody')))).status, 404);
  assert.equal((await exchange(server.port, request('SUBSCRIBE', '/somewhere/else'))).status, 404);
});

test('the stats endpoint counts online users (login subscription and a state other than offline)', async () => {
  const cb = await new CallbackListener().start();
  try {
    const online = async () => JSON.parse((await exchange(server.port, request('GET', '/imload/stats'))).body) as { online: number; subscriptions: number; totals: { requests: number } };
    const before = await online();
    const { viewId } = await logOn('u038', cb);
    const during = await online();
    assert.equal(during.online, before.online + 1);
    assert.ok(during.totals.requests > before.totals.requests);
    // Offline at a second view does not hide a principal still online at its first (§6.5) ...
    await authed('u038', 'PROPPATCH', node('u038'), {}, proppatchState('offline', 1200));
    assert.equal((await online()).online, before.online + 1);
    // ... offline at the same view does.
    const offline = proppatchState('offline', 1200).replace('</r:leased-value>', `</r:leased-value><r:view-id>${viewId}</r:view-id>`);
    assert.equal((await authed('u038', 'PROPPATCH', node('u038'), {}, offline)).status, 207);
    assert.equal((await online()).online, before.online);
  } finally {
    await cb.close();
  }
});
