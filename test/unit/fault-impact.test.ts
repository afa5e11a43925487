/**
 * Who a kill touched (src/analysis/fault-impact.ts), from a hand-written events file: failures and
 * retries from the kill on, by user and kind, the outage's first and last failure, sends accepted
 * late, and recovery — the moment every touched user had a send begun after its last failure or
 * retry accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { analyseFaultImpact, FAULT_SAMPLE } from '../../src/analysis/fault-impact.js';
import type { RecordedEvent } from '../../src/metrics/recording.js';
import type { JournalFault } from '../../src/metrics/journal.js';
import type { SecondPoint } from '../../src/metrics/aggregate.js';
import { faultReport } from '../../src/analysis/summary.js';
import { delayedText, outageHeadline, recoveryText } from '../../src/report/fault-text.js';

const name = (i: number) => `u${i}`;
const kill: JournalFault = { type: 'fault', at: 0, t: 10, action: 'kill', target: 'pool', ok: true };

function eventsFile(events: readonly RecordedEvent[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fault-impact-')), 'events.ndjson.gz');
  writeFileSync(path, gzipSync(events.map((e) => JSON.stringify(e)).join('\n')));
  return path;
}

test('failures and retries after the kill name their users; recovery is the last touched user’s first later success', async () => {
  const path = eventsFile([
    // Before the kill: not the fault's.
    { u: 0, t: 5_000, k: 'error', kind: 'send-timeout' },
    // u1: a send begun before its failure succeeds after it (not a recovery), then a later one does.
    { u: 1, t: 10_100, k: 'message', to: 'u2', toIndex: 2, seq: 1 },
    { u: 1, t: 10_200, k: 'message', to: 'u2', toIndex: 2, seq: 2 },
    { u: 1, t: 10_300, k: 'send-failed', seq: 1, reason: 'send-timeout' },
    { u: 1, t: 10_300, k: 'error', kind: 'send-timeout' },
    { u: 1, t: 10_400, k: 'sent', seq: 2, n: 1 },
    { u: 1, t: 12_000, k: 'message', to: 'u2', toIndex: 2, seq: 3 },
    { u: 1, t: 12_050, k: 'sent', seq: 3, n: 1 },
    // u2: a send refused as offline, then a retried one (its own outcome is no recovery), then one accepted.
    { u: 2, t: 11_000, k: 'message', to: 'u1', toIndex: 1, seq: 1 },
    { u: 2, t: 11_100, k: 'send-failed', seq: 1, reason: 'offline' },
    { u: 2, t: 11_200, k: 'message', to: 'u1', toIndex: 1, seq: 2 },
    { u: 2, t: 14_000, k: 'retried', metric: 'poolFailoverMessage' },
    { u: 2, t: 14_000, k: 'sent', seq: 2, n: 1 },
    { u: 2, t: 15_000, k: 'message', to: 'u1', toIndex: 1, seq: 3 },
    { u: 2, t: 15_300, k: 'sent', seq: 3, n: 1 },
    // u3: cancelled at the end: imload's, not the fault's.
    { u: 3, t: 16_000, k: 'message', to: 'u1', toIndex: 1, seq: 1 },
    { u: 3, t: 16_100, k: 'send-failed', seq: 1, reason: 'cancelled' },
  ]);
  const [impact] = (await analyseFaultImpact(path, [kill], name))!;
  assert.deepEqual(impact!.failed.byKind, { 'send-timeout': 1, offline: 1 });
  assert.equal(impact!.failed.users, 2);
  assert.equal(impact!.failed.firstAt, 10.3);
  assert.equal(impact!.failed.lastAt, 11.1);
  assert.deepEqual(impact!.failed.sample.map((u) => u.user), ['u1', 'u2'], 'by first failure');
  assert.deepEqual(impact!.retried.sample, [{ user: 'u2', index: 2, firstAt: 14, transactions: 1, kinds: { poolFailoverMessage: 1 } }]);
  assert.equal(impact!.recoveredAt, 15.3, 'u2’s send begun after its retry');
  assert.deepEqual(impact!.notRecovered, { users: 0, sample: [] });
  assert.deepEqual(impact!.noLaterTransaction, { users: 0, sample: [] });
});

test('a touched user whose later sends all fail is not recovered; one that sent nothing later shows no recovery; samples stay bounded', async () => {
  const touched = FAULT_SAMPLE + 5;
  const many = Array.from({ length: touched }, (_, u): RecordedEvent => ({ u, t: 11_000 + u, k: 'error', kind: 'unexpected-close' }));
  // u0 tries again and is refused.
  many.push({ u: 0, t: 12_000, k: 'message', to: 'u1', toIndex: 1, seq: 1 }, { u: 0, t: 12_100, k: 'send-failed', seq: 1, reason: 'send-rejected' });
  const [impact] = (await analyseFaultImpact(eventsFile(many), [kill], name))!;
  assert.equal(impact!.failed.users, touched);
  assert.equal(impact!.failed.sample.length, FAULT_SAMPLE);
  assert.equal(impact!.recoveredAt, null);
  assert.deepEqual(impact!.notRecovered, { users: 1, sample: ['u0'] });
  assert.equal(impact!.noLaterTransaction.users, touched - 1);
  assert.equal(impact!.noLaterTransaction.sample.length, FAULT_SAMPLE);
  assert.equal(await analyseFaultImpact(eventsFile(many), [{ ...kill, action: 'netsplit' }], name), null, 'no kill, no impact');
});

/** One journal second as faultReport reads it: its time, phase and online count. */
const second = (t: number, phase: SecondPoint['phase'], online: number) => ({ t, phase, online }) as SecondPoint;

test('the outage’s online count: a dip and its recovery, imload’s own ramp-down not counted; a pool whose users stayed on says so', async () => {
  const restart: JournalFault = { ...kill, t: 20, action: 'restart' };
  const dip = [second(9, 'hold', 300), second(11, 'hold', 180), second(21, 'hold', 250), second(22, 'hold', 300), second(30, 'rampDown', 40), second(31, 'stopping', 0)];
  const [down] = faultReport([kill, restart], dip).outages;
  assert.deepEqual([down!.onlineBefore, down!.lowestOnline, down!.usersBack, down!.recoverySeconds], [300, 180, 300, 2]);
  assert.match(outageHeadline(down!), /^pool killed at 10 s, restarted at 20 s: online 300 → 180, back 300, as many online as before 2 s after the restart$/);

  const poolKill: JournalFault = { ...kill, target: 'pool/fe2' };
  const steady = [second(9, 'hold', 300), second(11, 'hold', 300), second(21, 'hold', 300), second(30, 'rampDown', 40), second(31, 'stopping', 0)];
  const path = eventsFile([
    { u: 4, t: 13_000, k: 'retried', metric: 'poolFailoverPublish' },
    { u: 4, t: 14_000, k: 'message', to: 'u1', toIndex: 1, seq: 1 },
    { u: 4, t: 14_100, k: 'sent', seq: 1, n: 1 },
    { u: 5, t: 13_500, k: 'retried', metric: 'poolFailoverMessage' },
    { u: 5, t: 25_000, k: 'message', to: 'u1', toIndex: 1, seq: 1 },
    { u: 5, t: 25_100, k: 'sent', seq: 1, n: 1 },
  ]);
  const impacts = await analyseFaultImpact(path, [poolKill, { ...restart, target: 'pool/fe2' }], name);
  const [outage] = faultReport([poolKill, { ...restart, target: 'pool/fe2' }], steady, { faultImpacts: impacts }).outages;
  assert.equal(outage!.lowestOnline, 300, 'the ramp-down’s 0 is imload logging users off');
  assert.equal(outageHeadline(outage!), 'pool/fe2 killed at 10 s, restarted at 20 s: online stayed 300 throughout');
  assert.deepEqual(outage!.transactions!.retried.byKind, { poolFailoverPublish: 1, poolFailoverMessage: 1 });
  // The deployment's recovery (nothing failed or re-sent after 13.5 s) before each user's own next success.
  assert.equal(
    recoveryText(outage!),
    'the last failure or retry at 13.5 s (3.5 s after the kill); every touched user that tried again had a transaction succeed, the last at 25.1 s (15.1 s after the kill, at its own next send)',
  );
});

test('sends accepted more than a second after they began are delayed, by kind, from the kill on; nothing failed still reads as delayed', async () => {
  const path = eventsFile([
    // Begun before the kill and accepted after it: not the outage's.
    { u: 9, t: 8_500, k: 'message', to: 'u1', toIndex: 1, seq: 1 },
    { u: 9, t: 12_000, k: 'sent', seq: 1, n: 1 },
    // A message waiting 2.5 s, a channel message 2.5 s, a channel message 0.2 s (not delayed).
    { u: 6, t: 10_500, k: 'message', to: 'u1', toIndex: 1, seq: 1 },
    { u: 7, t: 11_000, k: 'say', ch: '#c', seq: 1 },
    { u: 7, t: 11_200, k: 'sent', seq: 1, n: 3 },
    { u: 8, t: 12_000, k: 'say', ch: '#c', seq: 1 },
    { u: 6, t: 13_000, k: 'sent', seq: 1, n: 1 },
    { u: 8, t: 14_500, k: 'sent', seq: 1, n: 3 },
    // Exactly the bound: not over it.
    { u: 10, t: 15_000, k: 'message', to: 'u1', toIndex: 1, seq: 1 },
    { u: 10, t: 16_000, k: 'sent', seq: 1, n: 1 },
  ]);
  const impacts = await analyseFaultImpact(path, [kill], name);
  const delayed = impacts![0]!.delayed;
  assert.deepEqual(delayed.byKind, { message: 1, 'channel-message': 1 });
  assert.deepEqual(delayed.sample.map((u) => u.user), ['u6', 'u8']);
  assert.deepEqual([delayed.firstAt, delayed.lastAt, delayed.longestSeconds, delayed.overSeconds], [10.5, 12, 2.5, 1]);
  assert.equal(
    delayedText(delayed, 10),
    '2 sends of 2 users (channel-message ×1, message ×1) accepted more than 1 s after they began, begun while it was down from 10.5 s to 12 s (0.5–2 s after the kill); the longest waited 2.5 s',
  );
  const steady = [second(9, 'hold', 300), second(11, 'hold', 300), second(30, 'rampDown', 40)];
  const [outage] = faultReport([kill], steady, { faultImpacts: impacts }).outages;
  assert.equal(recoveryText(outage!), 'no user’s transaction failed or was retried, but 2 sends waited for the server (delayed, above)');
});

test('a send begun after the restart had the target up again is not delayed by the outage, however slow', async () => {
  const restart: JournalFault = { type: 'fault', at: 10_000, t: 20, action: 'restart', target: 'pool', ok: true, tookMs: 1_500 };
  const path = eventsFile([
    // Begun while down (the restart began at 20 s, the server was up at 21.5 s): the outage's.
    { u: 1, t: 19_000, k: 'message', to: 'u2', toIndex: 2, seq: 1 },
    { u: 1, t: 21_600, k: 'sent', seq: 1, n: 1 },
    { u: 2, t: 21_000, k: 'say', ch: '#c', seq: 1 },
    { u: 2, t: 22_500, k: 'sent', seq: 1, n: 3 },
    // Begun once it was up, slow for its own reasons: not the outage's.
    { u: 3, t: 22_000, k: 'message', to: 'u2', toIndex: 2, seq: 1 },
    { u: 3, t: 26_000, k: 'sent', seq: 1, n: 1 },
  ]);
  const [impact] = (await analyseFaultImpact(path, [kill, restart], name))!;
  assert.deepEqual(impact!.delayed.sample.map((u) => u.user), ['u1', 'u2']);
  assert.equal(impact!.delayed.longestSeconds, 2.6);
  // A journal from before tookMs: the outage ends where the restart began.
  const [older] = (await analyseFaultImpact(path, [kill, { ...restart, tookMs: undefined }], name))!;
  assert.deepEqual(older!.delayed.sample.map((u) => u.user), ['u1']);
});
