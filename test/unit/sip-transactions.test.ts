import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientTransactions, ServerTransactionCache, SipTimeoutError } from '../../src/protocols/sip/transactions.js';
import { SipHeaders, EMPTY_BODY, type SipResponse } from '../../src/protocols/sip/message.js';
import { buildPidf, parsePidf } from '../../src/protocols/sip/pidf.js';
import { parseSipMessage } from '../../src/protocols/sip/codec.js';
import { UserAgent } from '../../src/protocols/sip/ua.js';
import type { SipRequest } from '../../src/protocols/sip/message.js';

const response = (status: number): SipResponse => ({ kind: 'response', status, reason: '', headers: new SipHeaders(), body: EMPTY_BODY, cseqMethod: 'SUBSCRIBE', branch: undefined });

function recorder(reliable: boolean) {
  const sentAt: number[] = [];
  const retransmitted: string[] = [];
  const start = Date.now();
  return {
    sentAt,
    retransmitted,
    sender: {
      reliable,
      send: () => {
        sentAt.push(Date.now() - start);
        return true;
      },
      retransmitted: (method: string) => retransmitted.push(method),
    },
  };
}

test('UDP: Timer E retransmits at T1, 2·T1, … capped at T2, and Timer F times out at 64·T1', async () => {
  const { sentAt, retransmitted, sender } = recorder(false);
  const transactions = new ClientTransactions(sender, { t1Ms: 10, t2Ms: 40 });
  await assert.rejects(transactions.start('z9hG4bK0.a', 'MESSAGE', Buffer.from('x')), SipTimeoutError);
  // Intervals 10, 20, 40, 40, … within 640 ms: 1 original + about 17 retransmissions.
  assert.ok(retransmitted.length >= 12 && retransmitted.length <= 18, `retransmissions: ${retransmitted.length}`);
  assert.equal(sentAt.length, retransmitted.length + 1);
  const gaps = sentAt.slice(1).map((at, i) => at - sentAt[i]!);
  assert.ok(gaps[0]! >= 9 && gaps[1]! >= 18 && gaps[2]! >= 36, `gaps ${gaps.join(',')}`);
  assert.equal(transactions.size, 0);
});

test('UDP: a final response stops retransmissions; a provisional slows them to T2', async () => {
  const { retransmitted, sender } = recorder(false);
  const transactions = new ClientTransactions(sender, { t1Ms: 10, t2Ms: 200 });
  const pending = transactions.start('z9hG4bK0.b', 'SUBSCRIBE', Buffer.from('x'));
  assert.equal(transactions.receive('z9hG4bK0.b', 'SUBSCRIBE', response(100)), true);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // § 17.1.2.2: the Timer E already running still fires once, then it is reset to T2.
  assert.ok(retransmitted.length <= 1, `at most the pending Timer E fired: ${retransmitted.length}`);
  assert.equal(transactions.receive('z9hG4bK0.b', 'NOTIFY', response(200)), false, 'method must match');
  assert.equal(transactions.receive('z9hG4bK0.b', 'SUBSCRIBE', response(200)), true);
  assert.equal((await pending).status, 200);
  assert.equal(transactions.receive('z9hG4bK0.b', 'SUBSCRIBE', response(200)), false, 'late final is unmatched');
});

test('TCP: no retransmissions, still Timer F', async () => {
  const { sentAt, sender } = recorder(true);
  const transactions = new ClientTransactions(sender, { t1Ms: 5, t2Ms: 40 });
  await assert.rejects(transactions.start('z9hG4bK0.c', 'REGISTER', Buffer.from('x')), SipTimeoutError);
  assert.equal(sentAt.length, 1);
});

test('server transaction cache answers retransmissions until Timer J, then forgets', () => {
  const cache = new ServerTransactionCache<Buffer>(100);
  cache.remember('k1', Buffer.from('200'), 1000);
  cache.remember('k2', Buffer.from('200b'), 1050);
  assert.equal(cache.lookup('k1', 1099)?.toString(), '200');
  assert.equal(cache.lookup('k1', 1100), undefined);
  assert.equal(cache.lookup('k2', 1100)?.toString(), '200b');
});

test('a retransmitted request is answered again with the same bytes and reaches the user once', () => {
  const sent: Buffer[] = [];
  const handled: string[] = [];
  const ua = new UserAgent(
    { index: 7, user: 'u7', domain: 'lab.test', timers: { t1Ms: 500, t2Ms: 4000 }, instanceTag: 'abc', serverCache: new ServerTransactionCache(32_000) },
    { bytes: () => undefined, message: () => undefined, presence: () => undefined, metric: () => undefined, error: () => undefined, disconnected: () => undefined, note: () => undefined },
  );
  ua.attach({ transport: 'UDP', reliable: false, localHost: '127.0.0.1', localPort: 5070, send: (data) => (sent.push(data), true), close: () => undefined });
  ua.serve({
    answer: (request: SipRequest) => {
      handled.push(request.method);
      return { status: 200, reason: 'OK', headers: [['X-Seen', request.headers.get('Call-ID')!]] };
    },
    lost: () => undefined,
  });
  const text = [
    'MESSAGE sip:u7@127.0.0.1:5070 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKretx1',
    'From: <sip:u1@lab.test>;tag=f1',
    'To: <sip:u7@lab.test>',
    'Call-ID: retx-1',
    'CSeq: 1 MESSAGE',
    'Content-Length: 2',
    '',
    'hi',
  ].join('\r\n');
  for (let copy = 0; copy < 2; copy++) ua.receive(parseSipMessage(Buffer.from(text)), text.length);
  assert.deepEqual(handled, ['MESSAGE'], 'the user saw the request once');
  assert.equal(sent.length, 2, 'both copies were answered');
  assert.equal(sent[1]!.toString(), sent[0]!.toString(), 'the second answer repeats the first, byte for byte');
  assert.match(sent[0]!.toString(), /^SIP\/2\.0 200 OK\r\n[\s\S]*X-Seen: retx-1\r\n/);
});

test('PIDF round trip keeps state and note (escaped), and tolerates namespace prefixes', () => {
  for (const state of ['online', 'busy', 'away', 'offline'] as const) {
    const parsed = parsePidf(buildPidf('sip:a@lab.test', state, `n <${state}> & "q"`));
    assert.deepEqual(parsed, { state, note: `n <${state}> & "q"` });
  }
  const prefixed =
    '<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf"><p:tuple id="x"><p:status><p:basic>open</p:basic></p:status>' +
    '</p:tuple><p:note xml:lang="en">at lunch &amp; back</p:note></p:presence>';
  assert.deepEqual(parsePidf(prefixed), { state: 'online', note: 'at lunch & back' });
  assert.equal(parsePidf(''), undefined);
});
