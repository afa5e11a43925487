import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientTransactions, ServerTransactionCache, SipTimeoutError } from '../../src/protocols/sip/transactions.js';
import { SipHeaders, EMPTY_BODY, type SipResponse } from '../../src/protocols/sip/message.js';
import { buildPidf, parsePidf } from '../../src/protocols/sip/pidf.js';

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
  const cache = new ServerTransactionCache(100);
  cache.remember('k1', Buffer.from('200'), 1000);
  cache.remember('k2', Buffer.from('200b'), 1050);
  assert.equal(cache.lookup('k1', 1099)?.toString(), '200');
  assert.equal(cache.lookup('k1', 1100), undefined);
  assert.equal(cache.lookup('k2', 1100)?.toString(), '200b');
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
