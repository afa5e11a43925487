/**
 * `run --repeat` on synthetic runs: the combined summary's median, minimum and maximum per
 * headline figure, and `imload compare` taking a repeat folder on either side by its medians.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareCommand } from '../../src/commands/compare.js';
import { formatComparisonText } from '../../src/report/compare-format.js';
import { readJournal } from '../../src/metrics/journal.js';
import { buildRepeatSummary, REPEAT_SUMMARY_FILE } from '../../src/report/repeat-summary.js';
import { buildSummary, type Summary } from '../../src/analysis/summary.js';
import { writeSyntheticJournal } from './report-synthetic-journal.js';

/** A repeat folder as `run --repeat` leaves it: repeat-<i>/journal.ndjson and repeat-summary.json. */
function repeatFolder(seeds: readonly number[], deliveryMs: (seed: number) => number): { dir: string; summaries: Summary[] } {
  const dir = mkdtempSync(join(tmpdir(), 'imload-repeat-'));
  const runs = seeds.map((seed, i) => {
    const folder = `repeat-${i + 1}`;
    mkdirSync(join(dir, folder));
    const path = join(dir, folder, 'journal.ndjson');
    writeSyntheticJournal({ path, seconds: 40, users: 500 + 100 * i, rampSeconds: 5, fanOut: 20, seed, deliveryMedianMs: () => deliveryMs(seed), runId: `repeat-${seed}`, errorsAt: (t): Record<string, number> => (t === 20 ? { 'send-timeout': i } : {}) });
    return { folder, exitCode: 0, summary: buildSummary(readJournal(path)).summary };
  });
  writeFileSync(join(dir, REPEAT_SUMMARY_FILE), JSON.stringify(buildRepeatSummary(seeds.length, 'imload run x -s y --repeat 3', true, runs)));
  return { dir, summaries: runs.map((r) => r.summary) };
}

const middle = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

test('the repeat summary gives each headline figure as median, minimum and maximum over the runs', () => {
  const { summaries } = repeatFolder([1, 2, 3], (seed) => 2 + seed);
  const runs = summaries.map((summary, i) => ({ folder: `repeat-${i + 1}`, exitCode: 0, summary }));
  const repeat = buildRepeatSummary(3, 'cmd', false, runs);
  assert.deepEqual(Object.keys(repeat.figures), ['users.peakOnline', 'logon.p95', 'delivery.p99', 'presence.p95', 'bandwidth.kbpsPerUser', 'errors.rate']);
  const expect = (metric: string, values: number[]) => {
    const f = repeat.figures[metric]!;
    assert.deepEqual(f.values, values, metric);
    assert.deepEqual([f.median, f.min, f.max], [middle(values), Math.min(...values), Math.max(...values)], metric);
  };
  expect('users.peakOnline', [500, 600, 700]);
  expect('delivery.p99', summaries.map((s) => s.latency.delivery.p99));
  expect('logon.p95', summaries.map((s) => s.latency.logon.p95));
  expect('errors.rate', summaries.map((s) => s.errors.rate));
  assert.ok(repeat.figures['errors.rate']!.max! > 0, 'the runs differ in errors');
  // The synthetic runs have no presence: not measured in any run is null, not 0.
  assert.deepEqual(repeat.figures['presence.p95'], { label: 'presence p95', median: null, min: null, max: null, values: [null, null, null] });
  assert.equal(repeat.bandwidthBasis, 'real time', 'timeScale 1: the measured figure is real time');
  assert.deepEqual(repeat.runs.map((r) => r.folder), ['repeat-1', 'repeat-2', 'repeat-3']);
});

test('compare takes a repeat folder on either side by its medians, and says so', async () => {
  const baseline = repeatFolder([1, 2, 3], () => 3);
  const same = repeatFolder([4, 5, 6], () => 3);
  const calm = await compareCommand({ baselineDir: baseline.dir, runDir: same.dir, quiet: true });
  assert.equal(calm.exitCode, 0, calm.comparison.regressions.map((m) => m.metric).join(', '));
  assert.deepEqual([calm.comparison.baselineRuns, calm.comparison.runRuns], [3, 3]);
  const p99 = calm.comparison.metrics.find((m) => m.metric === 'delivery.p99')!;
  assert.equal(p99.baseline, middle(baseline.summaries.map((s) => s.latency.delivery.p99)), 'the baseline value is the median of its runs');
  assert.equal(p99.run, middle(same.summaries.map((s) => s.latency.delivery.p99)));
  const online = calm.comparison.metrics.find((m) => m.metric === 'users.peakOnline')!;
  assert.equal(online.baseline, 600, 'median of 500, 600, 700 — not the first run');
  assert.match(formatComparisonText(calm.comparison), /^baseline median of 3 runs \(the first: repeat-1\) vs run median of 3 runs \(the first: repeat-4\)/);

  const slowerDir = mkdtempSync(join(tmpdir(), 'imload-repeat-single-'));
  writeSyntheticJournal({ path: join(slowerDir, 'journal.ndjson'), seconds: 40, users: 600, rampSeconds: 5, fanOut: 20, seed: 9, deliveryMedianMs: () => 12, runId: 'single' });
  const worse = await compareCommand({ baselineDir: baseline.dir, runDir: slowerDir, quiet: true });
  assert.equal(worse.exitCode, 99);
  assert.ok(worse.comparison.regressions.some((m) => m.metric === 'delivery.p99'));
  // And the other way round: a single run as baseline, a repeat folder judged.
  const better = await compareCommand({ baselineDir: slowerDir, runDir: same.dir, out: join(slowerDir, 'back.html'), quiet: true });
  assert.equal(better.exitCode, 0);
  assert.equal(better.comparison.metrics.find((m) => m.metric === 'delivery.p99')!.status, 'better');
});
