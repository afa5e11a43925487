/**
 * The RVP agent against a scripted server that is NOT ours: bare-LF responses, a router 302 to
 * another port, Basic-only challenges, `D:`/`Z:` prefixes, short granted lifetimes, NOTIFYs in
 * the propstat variant and with whitespace in hrefs. Checks what the agent sends and reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { rvpProtocol } from '../../src/protocols/rvp/index.js';
import type { PresenceState, VuEvents } from '../../src/protocols/types.js';
import { eventually } from './rvp-wire-helpers.js';

interface Seen {
  method: string;
  target: string;
  headers: Map<string, string>;
  body: string;
}

/** A minimal scripted RVP endpoint: records requests, answers with `answer`. LF line ends. */
async function scripted(answer: (r: Seen) => string): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buffer.slice(0, end).split('\r\n');
        const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
        const length = Number(headers.get('content-length') ?? 0);
        if (buffer.length < end + 4 + length) return;
        const [method, target] = lines[0]!.split(' ');
        const request = { method: method!, target: target!, headers, body: buffer.slice(end + 4, end + 4 + length) };
        buffer = buffer.slice(end + 4 + length);
        seen.push(request);
        socket.write(answer(request));
      }
    });
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, seen };
}

function lfResponse(status: string, headers: string[], body = ''): string {
  return [`HTTP/1.1 ${status}`, ...headers, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\n');
}

function events() {
  const log = {
    messages: [] as { from: string; text: string }[],
    changes: [] as { contact: string; state: PresenceState; note: string }[],
    errors: [] as string[],
    bytesIn: 0,
  };
  const sink: VuEvents = {
    bytes: (i) => {
      log.bytesIn += i;
    },
    message: (from, text) => log.messages.push({ from, text }),
    presence: (contact, state, note) => log.changes.push({ contact, state, note }),
    error: (kind, detail) => log.errors.push(`${kind} ${detail ?? ''}`),
    disconnected: () => {},
    note: () => {},
    metric: () => {},
  };
  return { log, sink };
}

/** Sends one request to the agent's callback URL the way a foreign server might. */
/** `absolute`: the request-target as an absoluteURI (S00 §5.1.7.2) instead of an abs_path. */
function sendToCallback(url: string, body: string, absolute = false): Promise<string> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.hostname, port: Number(target.port) });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
    socket.write(`NOTIFY ${absolute ? target.href : target.pathname} HTTP/1.0\nHost: ${target.hostname}\nRVP-Notifications-Version: 0.2\nContent-Type: text/xml\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`);
  });
}

const NS = 'xmlns:D="DAV:" xmlns:Z="http://schemas.microsoft.com/rvp/"';

test('agent: follows a 302, answers a Basic-only 401, keeps the view-id, renews, reads foreign NOTIFY shapes', async () => {
  let subscriptionCounter = 0;
  const home = await scripted((r) => {
    const auth = r.headers.get('authorization');
    if (auth !== `Basic ${Buffer.from('carol:pw').toString('base64')}`) return lfResponse('401 Access Denied', ['WWW-Authenticate: Basic realm="im.test"']);
    if (r.method === 'SUBSCRIBE' && r.headers.has('subscription-id')) return lfResponse('200 Successful', [`Subscription-Id: ${r.headers.get('subscription-id')}`, 'Subscription-Lifetime: 2']);
    if (r.method === 'SUBSCRIBE') {
      const id = `9A50${++subscriptionCounter}`;
      const status = r.headers.get('notification-type') === 'pragma/notify' ? '200 Successful' : '207 Multi-Status';
      return lfResponse(status, [`Subscription-Id: ${id}`, 'Subscription-Lifetime: 2']);
    }
    if (r.method === 'PROPPATCH') {
      return lfResponse('207 Multi-Status', ['Content-Type: text/xml'], `<?xml version="1.0"?><D:multistatus ${NS}><D:response><D:href>x</D:href><D:propstat><D:prop><Z:state><Z:view-id> 77 </Z:view-id></Z:state></D:prop><D:status>HTTP/1.1 200 Successful</D:status></D:propstat></D:response></D:multistatus>`);
    }
    if (r.method === 'NOTIFY') return r.target.endsWith('/gone') ? lfResponse('412 Precondition Failed', []) : lfResponse('200 Successful', []);
    return lfResponse('200 Successful', []);
  });
  const router = await scripted((r) => lfResponse('302 Object Moved', [`Location: http://127.0.0.1:${home.port}/instmsg/local/im.test/instmsg/aliases/${r.target.split('/').pop()}`]));
  const agent = await rvpProtocol.createAgent({
    name: 'foreign', protocol: 'rvp', host: '127.0.0.1', port: router.port, transport: 'tcp', domain: 'im.test',
    options: { subscriptionLifetime: 2, renewBeforeSeconds: 0.5, aclAtLogon: false },
  });
  const { log, sink } = events();
  const vu = agent.createUser({ index: 7, name: 'carol', password: 'pw', contacts: ['dave', 'erin'], channels: [] }, sink);
  try {
    await vu.logon();
    const login = home.seen.find((r) => r.method === 'SUBSCRIBE' && r.headers.get('notification-type') === 'pragma/notify' && r.headers.has('authorization'))!;
    assert.equal(login.target, '/instmsg/local/im.test/instmsg/aliases/carol', 'the request is re-issued at the Location');
    assert.equal(login.headers.get('subscription-lifetime'), '2');
    assert.equal(login.headers.get('rvp-notifications-version'), '0.2');
    assert.equal(login.headers.get('host'), '127.0.0.1', 'Host without the port (Net::RVP)');
    const callBack = login.headers.get('call-back')!;
    assert.match(callBack, /^http:\/\/127\.0\.0\.1:\d+\/vu\/7$/);
    const contactSubs = home.seen.filter((r) => r.method === 'SUBSCRIBE' && r.headers.get('notification-type') === 'update/propchange');
    assert.deepEqual(contactSubs.map((r) => r.headers.get('call-back')).sort(), ['http://im.test/instmsg/aliases/carol', 'http://im.test/instmsg/aliases/carol']);
    assert.equal(router.seen.filter((r) => r.target.endsWith('/carol')).length, 1, 'the home server is cached after the first 302');

    await vu.setPresence('busy', 'call me <later>');
    const patch = home.seen.filter((r) => r.method === 'PROPPATCH').pop()!;
    assert.match(patch.body, /<r:value><r:busy\/><\/r:value>/);
    assert.match(patch.body, /<d:timeout>1200<\/d:timeout>/);
    assert.match(patch.body, /<r:view-id>77<\/r:view-id>/, 'the assigned view-id is sent back');
    assert.match(patch.body, /call me &lt;later&gt;/);

    await eventually(() => home.seen.some((r) => r.method === 'SUBSCRIBE' && r.headers.get('subscription-id') === '9A501'), 3000);

    const presence = `<?xml version="1.0"?><Z:notification ${NS}><Z:propnotification><Z:notification-from><Z:contact><D:href>
        http://im.test/instmsg/aliases/dave </D:href></Z:contact></Z:notification-from><D:propstat><D:prop><Z:state><Z:on-phone/></Z:state></D:prop></D:propstat></Z:propnotification></Z:notification>`;
    assert.match(await sendToCallback(callBack, presence), /^HTTP\/1\.1 200 /);
    // The same callback named by an absoluteURI, and a bare r:state in the draft's d:propertyupdate form.
    const bare = `<Z:notification ${NS}><Z:propnotification><Z:notification-from><Z:contact><D:href>http://im.test/instmsg/aliases/dave</D:href></Z:contact></Z:notification-from><D:propertyupdate><D:set><D:prop><Z:state><Z:away/></Z:state></D:prop></D:set></D:propertyupdate></Z:propnotification></Z:notification>`;
    assert.match(await sendToCallback(callBack, bare, true), /^HTTP\/1\.1 200 /);
    const mime = 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nSession-Id: {A-B}\n\nhello & welcome';
    const im = `<Z:notification ${NS}><Z:message><Z:notification-from><Z:contact><D:href>http://im.test/instmsg/aliases/erin</D:href></Z:contact></Z:notification-from><Z:msgbody><Z:mime-data><![CDATA[${mime}]]></Z:mime-data></Z:msgbody></Z:message></Z:notification>`;
    assert.match(await sendToCallback(callBack, im), /^HTTP\/1\.1 200 /);
    const typing = im.replace('text/plain; charset=UTF-8', 'text/x-msmsgscontrol\nTypingUser: erin@im.test');
    await sendToCallback(callBack, typing);
    assert.match(await sendToCallback(callBack, '<not xml'), /^HTTP\/1\.1 400 /);
    assert.deepEqual(log.changes, [{ contact: 'dave', state: 'busy', note: '' }, { contact: 'dave', state: 'away', note: '' }]);
    assert.deepEqual(log.messages, [{ from: 'erin', text: 'hello & welcome' }], 'typing controls are not messages');

    assert.deepEqual(await vu.message('dave', 'hi'), { ok: true, recipients: 1 });
    const sent = home.seen.filter((r) => r.method === 'NOTIFY').pop()!;
    assert.equal(sent.headers.get('rvp-ack-type'), 'DeepOr');
    assert.equal(sent.headers.get('rvp-hop-count'), '1');
    assert.match(sent.body, /Session-Id: \{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}\r\n\r\nhi\]\]>/);
    const offline = await vu.message('gone', 'anyone?');
    assert.equal(offline.ok === false && offline.reason, 'offline');

    await vu.logoff();
    const unsubscribed = home.seen.filter((r) => r.method === 'UNSUBSCRIBE').map((r) => r.headers.get('subscription-id'));
    assert.equal(unsubscribed.length, 2, 'one UNSUBSCRIBE per contact, none for the login');
    assert.ok(!unsubscribed.includes('9A501'));
    assert.match(home.seen.filter((r) => r.method === 'PROPPATCH').pop()!.body, /<r:value><r:offline\/><\/r:value>/);
    assert.deepEqual(log.errors.filter((e) => !e.startsWith('protocol-error bad NOTIFY')), []);
    assert.ok(log.bytesIn > 0);
  } finally {
    vu.destroy();
    await agent.close();
    home.server.close();
    router.server.close();
  }
});

test('agent: each failure is counted once — thrown when it ends an operation, reported when the agent goes on', async () => {
  let patches = 0;
  const home = await scripted((r) => {
    if (r.method === 'SUBSCRIBE' && r.headers.get('notification-type') === 'pragma/notify') return lfResponse('200 Successful', ['Subscription-Id: L1', 'Subscription-Lifetime: 1200']);
    // One contact's watch fails; the logon goes on without it.
    if (r.method === 'SUBSCRIBE') return r.target.endsWith('/dave') ? lfResponse('503 Service Unavailable', []) : lfResponse('207 Multi-Status', ['Subscription-Id: C1', 'Subscription-Lifetime: 1200']);
    // The first PROPPATCH (the logon's) succeeds; the next (a presence change) fails.
    if (r.method === 'PROPPATCH') return ++patches === 1 ? lfResponse('207 Multi-Status', []) : lfResponse('500 Internal Error', []);
    if (r.method === 'NOTIFY') return lfResponse('403 Forbidden', []);
    return lfResponse('200 Successful', []);
  });
  const agent = await rvpProtocol.createAgent({ name: 'x', protocol: 'rvp', host: '127.0.0.1', port: home.port, transport: 'tcp', domain: 'im.test', options: { aclAtLogon: false } });
  const { log, sink } = events();
  const vu = agent.createUser({ index: 2, name: 'carol', password: 'pw', contacts: ['dave', 'erin'], channels: [] }, sink);
  try {
    await vu.logon();
    assert.equal(log.errors.length, 1, log.errors.join('\n'));
    assert.match(log.errors[0]!, /^server-error contact SUBSCRIBE dave answered 503/);
    await assert.rejects(vu.setPresence('busy', 'x'), (error: Error & { kind?: string }) => error.kind === 'server-error');
    const rejected = await vu.message('erin', 'hi');
    assert.deepEqual(rejected, { ok: false, reason: 'rejected', detail: '403 Forbidden' });
    assert.equal(log.errors.length, 1, `the thrown PROPPATCH and the rejected NOTIFY are the engine's to count:\n${log.errors.join('\n')}`);
  } finally {
    vu.destroy();
    await agent.close();
    home.server.close();
  }
});

test('agent: a refused password is auth-failed, not a retry loop', async () => {
  const home = await scripted(() => lfResponse('401 Access Denied', ['WWW-Authenticate: Digest realm="im.test", nonce="n1", qop="auth"', 'WWW-Authenticate: Basic realm="im.test"']));
  const agent = await rvpProtocol.createAgent({ name: 'x', protocol: 'rvp', host: '127.0.0.1', port: home.port, transport: 'tcp', domain: 'im.test', options: {} });
  const { log, sink } = events();
  const vu = agent.createUser({ index: 1, name: 'carol', password: 'wrong', contacts: [], channels: [] }, sink);
  try {
    await assert.rejects(vu.logon(), (error: Error & { kind?: string }) => error.kind === 'auth-failed');
    assert.equal(home.seen.length, 2, 'one challenge, one Digest attempt');
    assert.match(home.seen[1]!.headers.get('authorization')!, /^Digest username="carol", realm="im.test", nonce="n1", uri="\/instmsg\/aliases\/carol".*qop=auth, nc=00000001, cnonce="[0-9a-f]{32}"/);
    assert.deepEqual(log.errors, [], 'thrown, not also reported: the engine counts the failed logon once');
  } finally {
    vu.destroy();
    await agent.close();
    home.server.close();
  }
});
