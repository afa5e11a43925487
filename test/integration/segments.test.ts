/**
 * Segments end to end on loopback: segments 1/3, 2/3 and 3/3 of one chat scenario run at the
 * same time against one lab InspIRCd, `imload merge` combines their journals, and the result
 * equals a single run of the whole scenario with the same seed.
 *
 * Counts must match exactly: activity starts at the end of ramp-up plus a delay longer than any
 * start offset between the segments (each rounds its own clock to a whole second), so every
 * channel member has joined before the first message and is still online after the last.
 * Latencies cannot match exactly: they are real timings on a shared 2-core machine. The merge
 * itself is exact (test/unit/merge-journals.test.ts proves it to the histogram bucket); here the
 * sample counts of every latency must match exactly and the percentiles within a tolerance sized
 * to scheduler noise (see `close` below), not to histogram precision (0.1 %), which is far finer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { mergeCommand } from '../../src/commands/merge.js';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import type { Summary } from '../../src/analysis/summary.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 60;

const SCENARIO = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667 }
scenarios:
  split:
    target: chat
    seed: 23
    timeScale: 240
    population:
      users: ${USERS}
      channels: { count: 4, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: 60 }
      - { phase: hold, duration: 14s }
      - { phase: rampDown, rate: 120 }
    behaviour:
      messagesPerHour: 4
      channelMessagesPerHour: 3
      activityStart: rampUpEnd
      activityDelay: 5s
      drain: 3s
    thresholds:
      - messages.lost == 0
      - errors.count == 0
`;

/**
 * Percentiles of two runs of the same workload agree within 25 ms plus 50 % of the larger: on
 * loopback the values are a few ms, and three generator processes sharing two cores with other
 * work add scheduling delays of that order. A merge that dropped or double-counted a segment's
 * samples is caught by the exact sample counts instead.
 */
function close(name: string, merged: number, single: number): void {
  const tolerance = 25 + 0.5 * Math.max(merged, single);
  assert.ok(Math.abs(merged - single) <= tolerance, `${name}: merged ${merged} ms vs single ${single} ms (tolerance ${tolerance.toFixed(1)} ms)`);
}

test('segments 1/3, 2/3, 3/3 merged equal a single run with the same seed', { timeout: 180_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const server = await startInspircd();
  t.after(() => server.stop());
  const { file, dir } = writeScenario(SCENARIO);
  const common = { file, scenario: 'split', quiet: true, targets: [`chat=${server.url}`], workers: 1, signal: new AbortController().signal };

  const single = await runCommand({ ...common, out: join(dir, 'single') });
  assert.equal(single.exitCode, 0, JSON.stringify(single.result.summary.thresholds));

  const segments = await Promise.all(['1/3', '2/3', '3/3'].map((segment, i) => runCommand({ ...common, segment, out: join(dir, `seg${i + 1}`) })));
  // A segment alone cannot tell a loss: its senders expect members of other segments, whose
  // receipts only the other journals hold. Its summary says so; only the merged run is judged.
  for (const s of segments) {
    assert.equal(s.result.reason, 'completed');
    // `messages.lost == 0` is the merged run's to judge: the segment neither fails on it nor passes it.
    const [lost, errors] = s.result.summary.thresholds;
    assert.match(lost!.notJudged ?? '', /imload merge judges it/);
    assert.equal(errors!.notJudged, undefined);
    assert.equal(s.exitCode, errors!.ok ? 0 : 99, JSON.stringify(s.result.summary.thresholds));
  }
  assert.deepEqual(segments.map((s) => s.result.summary.messages.acrossSegments), [{ segment: 1, of: 3 }, { segment: 2, of: 3 }, { segment: 3, of: 3 }]);
  const perSegment = segments.map((s) => s.result.summary.users.requested);
  assert.deepEqual(perSegment, [20, 20, 20], 'each segment ran its third of the population');

  const merged = await mergeCommand({ runDirs: segments.map((s) => s.runDir), out: join(dir, 'merged'), quiet: true });
  assert.equal(merged.exitCode, 0);
  assert.equal(merged.summary.messages.acrossSegments, undefined, 'the merged run tells its losses');
  assert.equal(single.result.summary.messages.acrossSegments, undefined);
  compare(merged.summary, single.result.summary);
});

function compare(merged: Summary, single: Summary): void {
  assert.ok(single.messages.sent > 20 && single.messages.channelSent > 20, `the scenario sends: ${single.messages.sent} IM, ${single.messages.channelSent} channel`);
  assert.ok(single.messages.expected > single.messages.sent + single.messages.channelSent, 'channel fan-out');
  assert.equal(single.users.logonOk, USERS);
  const counts = (s: Summary) => ({
    requested: s.users.requested,
    peakOnline: s.users.peakOnline,
    logonAttempts: s.users.logonAttempts,
    logonOk: s.users.logonOk,
    logonFailures: s.users.logonFailures,
    logoffs: s.users.logoffs,
    joins: s.latency.join.count,
    logons: s.latency.logon.count,
    sent: s.messages.sent,
    channelSent: s.messages.channelSent,
    expected: s.messages.expected,
    delivered: s.messages.delivered,
    deliveryLatencies: s.latency.delivery.count,
    lost: s.messages.lost,
    duplicates: s.messages.duplicates,
    misrouted: s.messages.misrouted,
    undeliverable: s.messages.undeliverable,
    errors: s.errors.total,
  });
  assert.deepEqual(counts(merged), counts(single));
  assert.equal(merged.crossCheck?.imloadOnline, USERS, 'the segments’ own counts add up to the population');
  for (const name of ['logon', 'join', 'delivery'] as const) {
    for (const p of ['p50', 'p95'] as const) close(`${name}.${p}`, merged.latency[name][p], single.latency[name][p]);
  }
}
