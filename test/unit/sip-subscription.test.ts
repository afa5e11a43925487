/**
 * A presence subscription's NOTIFY handling, against a fake owner: which presences reach the
 * engine (a NOTIFY repeating either of the last two reported is not a change, since NOTIFYs of a
 * dialog from different Kamailio workers can arrive out of order), that the first NOTIFY counts
 * once for logon, that route sets are shared between dialogs that have the same one, that a
 * remote tag's tail kept as a number comes back as the same text, and that a 423's Min-Expires
 * raises what the user's later SUBSCRIBEs ask for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSipMessage } from '../../src/protocols/sip/codec.js';
import { buildPidf } from '../../src/protocols/sip/pidf.js';
import { SipParseError, type SipRequest, type SipResponse } from '../../src/protocols/sip/message.js';
import { Subscription, tagTail, tagTailText, type SubscriptionOwner } from '../../src/protocols/sip/subscription.js';
import type { UserAgent } from '../../src/protocols/sip/ua.js';
import type { PresenceState, VuEvents } from '../../src/protocols/types.js';

function owner(): { owner: SubscriptionOwner; seen: string[]; firstNotifies: () => number } {
  const seen: string[] = [];
  let firstNotifies = 0;
  let tags = 0;
  const ua = { newTagNumber: () => ++tags } as unknown as UserAgent;
  return {
    seen,
    firstNotifies: () => firstNotifies,
    owner: {
      ua,
      domain: 'lab.test',
      subscribeExpires: 3600,
      events: { error: (kind: string, detail?: string) => assert.fail(`unexpected error ${kind} ${detail}`) } as unknown as VuEvents,
      presenceSeen: (contact, state, note, _at, initial) => void seen.push(`${contact} ${state} ${note}${initial ? ' (initial)' : ''}`),
      firstNotifyArrived: () => void firstNotifies++,
      firstNotifyFailed: (error) => assert.fail(error),
    },
  };
}

let cseq = 0;
function notify(state: PresenceState, note: string, recordRoute?: string): SipRequest {
  const body = buildPidf('sip:bob@lab.test', state, note);
  const text =
    `NOTIFY sip:alice@127.0.0.1:5999 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn${++cseq}\r\n` +
    `From: <sip:bob@lab.test>;tag=0123456789abcdef0123456789abcdef-${cseq}\r\nTo: <sip:alice@lab.test>;tag=x1\r\n` +
    `Call-ID: c1\r\nCSeq: ${cseq} NOTIFY\r\nContact: <sip:127.0.0.1:5060>\r\n` +
    (recordRoute === undefined ? '' : `Record-Route: ${recordRoute}\r\n`) +
    `Event: presence\r\nSubscription-State: active;expires=3600\r\nContent-Type: application/pidf+xml\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const message = parseSipMessage(Buffer.from(text));
  assert.ok(!(message instanceof SipParseError) && message.kind === 'request');
  return message as SipRequest;
}

test('a NOTIFY repeating either of the last two presences reported is not a change; a third one is', () => {
  const { owner: o, seen, firstNotifies } = owner();
  const subscription = new Subscription('bob', o);
  try {
    subscription.handleNotify(notify('online', ''), 1);
    subscription.handleNotify(notify('online', ''), 2); // the same again
    subscription.handleNotify(notify('away', 'lunch'), 3);
    subscription.handleNotify(notify('online', ''), 4); // late: the one before
    subscription.handleNotify(notify('away', 'lunch'), 5); // the last, again
    subscription.handleNotify(notify('away', 'meeting'), 6); // same state, new note: a change
    subscription.handleNotify(notify('busy', ''), 7);
    subscription.handleNotify(notify('online', ''), 8); // no longer among the last two
    subscription.handleNotify(notify('offline', 'gone'), 9);
    assert.deepEqual(seen, ['bob online  (initial)', 'bob away lunch', 'bob away meeting', 'bob busy ', 'bob online ', 'bob offline gone']);
    assert.equal(firstNotifies(), 1, 'the first NOTIFY counts once for logon');
  } finally {
    subscription.abandon();
  }
});

test('dialogs with the same Record-Route share one route set; a different one gets its own', () => {
  const { owner: o } = owner();
  const routeSetOf = (subscription: Subscription): readonly string[] | undefined => (subscription as unknown as { routeSet?: readonly string[] }).routeSet;
  const [a, b, c] = [new Subscription('bob', o), new Subscription('carol', o), new Subscription('dave', o)];
  try {
    a.handleNotify(notify('online', '', '<sip:127.0.0.1:5070;lr>'), 1);
    b.handleNotify(notify('online', '', '<sip:127.0.0.1:5070;lr>'), 1);
    c.handleNotify(notify('online', '', '<sip:127.0.0.1:5071;lr>'), 1);
    assert.deepEqual(routeSetOf(a), ['<sip:127.0.0.1:5070;lr>']);
    assert.equal(routeSetOf(a), routeSetOf(b), 'one array for both');
    assert.deepEqual(routeSetOf(c), ['<sip:127.0.0.1:5071;lr>']);
  } finally {
    for (const s of [a, b, c]) s.abandon();
  }
});

test('a remote tag tail of eight hex digits is kept as a number and given back exactly; any other as text', () => {
  for (const text of ['0000abcd', 'ffffffff', '80000000', '7fffffff', '00000000', '1a2b3c4d']) {
    const kept = tagTail(text);
    assert.equal(typeof kept, 'number', text);
    assert.ok(Number.isInteger(kept) && (kept as number) <= 0x7fffffff && (kept as number) >= -0x80000000, `${text}: a 32-bit integer`);
    assert.equal(tagTailText(kept), text);
  }
  for (const text of ['ABCDEF01', '1234', 'abcdef012', 'x', '']) {
    assert.equal(tagTail(text), text);
    assert.equal(tagTailText(tagTail(text)), text);
  }
});

test('a 423 Interval Too Brief: the SUBSCRIBE is sent again with Min-Expires, and the user\'s next subscription asks for that at once', async () => {
  const { owner: o, firstNotifies } = owner();
  const asked: string[] = [];
  let answered!: () => void;
  const bothAnswered = new Promise<void>((resolve) => (answered = resolve));
  const answer = (status: string, extra: string): SipResponse => {
    const message = parseSipMessage(Buffer.from(`SIP/2.0 ${status}\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKx\r\nFrom: <sip:alice@lab.test>;tag=1\r\nTo: <sip:bob@lab.test>;tag=n1\r\nCall-ID: c1\r\nCSeq: 1 SUBSCRIBE\r\n${extra}Content-Length: 0\r\n\r\n`));
    assert.ok(!(message instanceof SipParseError) && message.kind === 'response');
    return message as SipResponse;
  };
  Object.assign(o.ua, { tag: (n: number) => `t${n}`, callId: (n: number) => `c${n}` });
  (o.ua as unknown as { request: (spec: { headers: Array<[string, string]> }) => Promise<SipResponse> }).request = async (spec) => {
    const expires = spec.headers.find(([name]) => name === 'Expires')![1];
    asked.push(expires);
    if (asked.length === 3) answered();
    return Number(expires) < 7200 ? answer('423 Interval Too Brief', 'Min-Expires: 7200\r\n') : answer('202 Accepted', `Expires: ${expires}\r\n`);
  };
  const first = new Subscription('bob', o);
  const second = new Subscription('carol', o);
  try {
    first.start();
    await new Promise((resolve) => setImmediate(resolve));
    second.start();
    await bothAnswered;
    assert.deepEqual(asked, ['3600', '7200', '7200'], 'asked 3600, told 7200, asked 7200 again; the next subscription asks 7200 at once');
    assert.equal(o.subscribeExpires, 7200);
    assert.equal(firstNotifies(), 0, 'no NOTIFY yet');
  } finally {
    first.abandon();
    second.abandon();
  }
});
