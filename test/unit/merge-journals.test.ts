/**
 * `imload merge` on synthetic segment journals: the merged summary equals the summary of the
 * same population journaled whole — counts exactly, percentiles exactly (HDR histograms add
 * without loss) — and the merged run folder holds every output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeCommand, mergeJournals, type MergedJournalHeader } from '../../src/commands/merge.js';
import type { JournalCrossCheck, JournalEnd, JournalSecond } from '../../src/metrics/journal.js';
import { buildSummary } from '../../src/analysis/summary.js';
import { FIXTURE_START, writeFixtureJournal, writeSegments } from './merge-fixtures.js';

const RUN = { users: 31, seconds: 14 } as const;

test('three segments merge to the whole run: every count and every percentile', () => {
  const whole = buildSummary(writeFixtureJournal({ ...RUN, segment: { index: 0, count: 1 } }).entries).summary;
  const segments = writeSegments(3, RUN);
  const merged = buildSummary(mergeJournals(segments.map((s) => ({ source: s.dir, entries: s.entries })))).summary;
  assert.ok(whole.messages.sent > 50 && whole.latency.delivery.count === whole.messages.sent, 'the fixture has traffic to compare');
  // Each segment alone is a strict part of the whole: merging must add them, not pick one.
  const first = buildSummary(segments[0]!.entries).summary;
  assert.ok(first.messages.sent < whole.messages.sent && first.users.requested === 11);
  assert.deepEqual(merged.users, whole.users);
  assert.deepEqual(merged.messages, whole.messages);
  assert.deepEqual(merged.latency, whole.latency);
  assert.deepEqual(merged.bandwidth, whole.bandwidth);
  assert.deepEqual(merged.errors, whole.errors);
  assert.deepEqual(merged.thresholds, whole.thresholds);
  assert.equal(merged.users.requested, RUN.users);
});

test('merged percentiles come from added histograms, never from averaged percentiles', () => {
  // Segment 1's users deliver in 1 ms, segment 2's in 100 ms: equal counts.
  const slowFast = (user: number) => (user % 2 === 0 ? 1 : 100);
  const segments = writeSegments(2, { users: 20, seconds: 10, deliveryMs: slowFast });
  const perSegment = segments.map((s) => buildSummary(s.entries).summary.latency.delivery);
  const merged = buildSummary(mergeJournals(segments.map((s) => ({ source: s.dir, entries: s.entries })))).summary.latency.delivery;
  assert.equal(perSegment[0]!.p99, 1);
  assert.equal(perSegment[1]!.p99, 100.031, 'HDR rounds 100 ms to its 3-significant-digit bucket');
  assert.equal(merged.count, perSegment[0]!.count + perSegment[1]!.count);
  assert.equal(merged.p99, perSegment[1]!.p99, 'p99 of the union is the slow segment’s, not the mean of the two p99s');
  assert.equal(merged.p50, perSegment[0]!.p50, 'half the samples are 1 ms: the union’s median bucket is the fast one');
  const weightedMean = (perSegment[0]!.count * perSegment[0]!.mean + perSegment[1]!.count * perSegment[1]!.mean) / merged.count;
  assert.ok(Math.abs(merged.mean - weightedMean) < 0.002, `mean ${merged.mean}, expected the count-weighted ${weightedMean}`);
});

test('merged journal: per-second sums, header with mergedFrom, workers renumbered, notes once, worst end', () => {
  const segments = [
    writeFixtureJournal({ ...RUN, workers: 2, segment: { index: 1, count: 2 }, startEpochMs: FIXTURE_START + 1000, endReason: 'interrupted' }),
    writeFixtureJournal({ ...RUN, workers: 1, segment: { index: 0, count: 2 } }),
  ];
  const entries = mergeJournals(segments.map((s) => ({ source: s.dir, entries: s.entries })));
  const header = entries[0] as MergedJournalHeader;
  assert.deepEqual(header.segment, { index: 0, count: 1 });
  assert.equal(header.workers, 3);
  assert.equal(header.startEpochMs, FIXTURE_START, 'the earliest segment start');
  assert.deepEqual(header.mergedFrom.map((m) => [m.segment, m.hostname, m.source]), [['1/2', 'host-1', segments[1]!.dir], ['2/2', 'host-2', segments[0]!.dir]]);
  assert.equal(header.command, 'imload run scenarios.yaml -s fixture --seed 5', 'reproduces the whole run, without --segment');

  const seconds = entries.filter((e): e is JournalSecond => e.type === 'second');
  assert.deepEqual(seconds.map((s) => s.t), Array.from({ length: RUN.seconds }, (_, i) => i + 1));
  for (const second of seconds) {
    const parts = segments.map((s) => s.entries.find((e): e is JournalSecond => e.type === 'second' && e.t === second.t)!);
    assert.equal(second.online, parts[0]!.online + parts[1]!.online);
    assert.equal(second.counters.bytesIn ?? 0, (parts[0]!.counters.bytesIn ?? 0) + (parts[1]!.counters.bytesIn ?? 0));
    assert.deepEqual(second.health.map((h) => h.worker), [0, 1, 2], 'segment 1 keeps worker 0, segment 2’s workers become 1 and 2');
  }
  assert.equal(entries.filter((e) => e.type === 'note').length, 1, 'the same note from both segments is kept once');
  const end = entries.find((e): e is JournalEnd => e.type === 'end')!;
  assert.equal(end.reason, 'interrupted', 'the worst reason wins');
  assert.equal(end.at, FIXTURE_START + 1000 + RUN.seconds * 1000 + 300, 'the latest end');
});

test('a killed segment leaves the merged run without an end, and says which', () => {
  const segments = [writeFixtureJournal({ ...RUN, segment: { index: 0, count: 2 } }), writeFixtureJournal({ ...RUN, segment: { index: 1, count: 2 }, endReason: null })];
  const { summary } = buildSummary(mergeJournals(segments.map((s) => ({ source: s.dir, entries: s.entries }))));
  assert.equal(summary.end.reason, 'unknown');
  assert.ok(summary.notes.some((n) => n.text.includes('segment 2/2') && n.text.includes('no end record')), JSON.stringify(summary.notes));
});

test('cross-checks: imload counts add up; one server asked by concurrent segments counts everyone once', () => {
  const concurrent = writeSegments(2, { ...RUN, serverOnline: 31 });
  const check = mergeJournals(concurrent.map((s) => ({ source: s.dir, entries: s.entries }))).find((e): e is JournalCrossCheck => e.type === 'crosscheck')!;
  assert.equal(check.imloadOnline, 31, '16 + 15');
  assert.equal(check.serverOnline, 31);

  // Segment 1 started 3 s late: its check fell in segment 2's last second, when segment 2's users
  // had left; segment 2's check fell while segment 1 was holding, so that one is kept.
  const staggered = [
    writeFixtureJournal({ ...RUN, segment: { index: 0, count: 2 }, serverOnline: 16, startEpochMs: FIXTURE_START + 3000 }),
    writeFixtureJournal({ ...RUN, segment: { index: 1, count: 2 }, serverOnline: 31 }),
  ];
  const kept = mergeJournals(staggered.map((s) => ({ source: s.dir, entries: s.entries }))).find((e): e is JournalCrossCheck => e.type === 'crosscheck')!;
  assert.deepEqual([kept.imloadOnline, kept.serverOnline], [31, 31]);
  assert.match(kept.source, /asked by segment 2\/2/);

  // Segments run one after the other: each answer counted only its own users.
  const alone = [
    writeFixtureJournal({ ...RUN, segment: { index: 0, count: 2 }, serverOnline: 16 }),
    writeFixtureJournal({ ...RUN, segment: { index: 1, count: 2 }, serverOnline: 15, startEpochMs: FIXTURE_START + 60_000 }),
  ];
  const sequential = mergeJournals(alone.map((s) => ({ source: s.dir, entries: s.entries }))).find((e): e is JournalCrossCheck => e.type === 'crosscheck')!;
  assert.equal(sequential.serverOnline, 31);
});

test('imload merge writes every output into --out from the merged journal', async () => {
  const segments = writeSegments(2, RUN);
  const out = join(mkdtempSync(join(tmpdir(), 'imload-merge-out-')), 'merged');
  const { exitCode, summary } = await mergeCommand({ runDirs: segments.map((s) => s.dir), out, quiet: true });
  assert.equal(exitCode, 0);
  for (const file of ['journal.ndjson', 'summary.json', 'index.html', 'summary.md', 'junit.xml']) assert.ok(existsSync(join(out, file)), file);
  const written = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(written.users.requested, RUN.users);
  assert.equal(written.messages.sent, summary.messages.sent);
  assert.equal(written.runId, 'fixture-merged');
});
