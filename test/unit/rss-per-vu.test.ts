/**
 * Generator memory per VU: RSS above the workers' pre-logon baselines, averaged over the hold's
 * seconds after every worker's collection at its ramp's end, per user online. A second after a
 * garbage collection below the baseline must not turn a run that held users into "0 KiB"; a
 * figure the sampling cannot tell from zero says so; the report line says when the figure is
 * after a collection, and what the workers' RSS peaked at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunAggregate } from '../../src/metrics/aggregate.js';
import type { JournalSecond, RunPhase } from '../../src/metrics/journal.js';
import type { RampCollection } from '../../src/metrics/names.js';
import { describeRssPerVu, generatorVerdict } from '../../src/analysis/generator.js';
import { createHistogram, summarize } from '../../src/metrics/histogram.js';

const BASELINE = 100 * 2 ** 20;

/**
 * 150 users held from t 11 to 40; `above(t)` is RSS above the baseline, summed over two workers;
 * `collected(worker, t)` is the collection that worker reports in second t, if any.
 */
function run(above: (t: number) => number, collected: (worker: number, t: number) => RampCollection | undefined = () => undefined, coordinatorRss?: (t: number) => number) {
  const aggregate = new RunAggregate();
  for (let t = 1; t <= 45; t++) {
    const phase: RunPhase = t <= 10 ? 'rampUp' : t <= 40 ? 'hold' : 'rampDown';
    const online = t <= 10 ? t * 15 : t <= 40 ? 150 : 0;
    const second: JournalSecond = {
      type: 'second', t, at: t * 1000, phase, online, counters: {}, errors: {}, histograms: {},
      health: [0, 1].map((worker) => {
        const rampCollection = collected(worker, t);
        return { worker, eventLoopP99: 10, eventLoopMax: 12, cpuPercent: 20, rssBytes: BASELINE + above(t) / 2, baselineRssBytes: BASELINE, heapUsedBytes: 1, openFds: 10, vus: online / 2, ...(rampCollection ? { rampCollection } : {}) };
      }),
      ...(coordinatorRss ? { host: { cpuPercent: 50, cores: 2, coordinatorRssBytes: coordinatorRss(t), coordinatorCpuPercent: 5 } } : {}),
    };
    aggregate.add(second);
  }
  return generatorVerdict(aggregate, summarize(createHistogram()));
}

const MiB = 2 ** 20;
const collection = (pauseMs: number): RampCollection => ({ pauseMs, rssBeforeBytes: BASELINE + 10 * MiB, rssAfterBytes: BASELINE + MiB });

test('RSS per VU is the hold\'s mean above the baseline per user, even when the last hold second (after a GC) is below it', () => {
  // 1.5 MiB above the baseline through the hold, except a GC at t 40 that drops below it.
  const g = run((t) => (t === 40 ? -2 * 2 ** 20 : 1.5 * 2 ** 20));
  const expected = ((29 * 1.5 * 2 ** 20 - 2 * 2 ** 20) / 30) / 150;
  assert.ok(g.rssPerVuBytes !== null && Math.abs(g.rssPerVuBytes - expected) <= 1, `${g.rssPerVuBytes} vs ${expected}`);
  assert.equal(g.rssPerVu.window, 'hold');
  assert.equal(g.rssPerVu.seconds, 30);
  assert.equal(g.rssPerVu.rampCollectionPauseMs, undefined);
  // No collection was reported (a journal from before it): the line must not claim one.
  assert.match(describeRssPerVu(g), /^9\.\d KiB RSS per VU; workers' RSS peaked at 202 MiB \(\d+\.\d KiB per VU all-in\)$/);
});

test('after the workers\' collections at the ramp\'s end, only the hold\'s seconds after both count, and the line says so', () => {
  // The ramp's garbage (20 MiB) stays until each worker collects: worker 0 in the hold's first
  // second (t 11), worker 1 in its second (t 12); from then on the users hold 1.5 MiB.
  const g = run(
    (t) => (t <= 12 ? 20 * MiB : 1.5 * MiB),
    (worker, t) => (worker === 0 && t === 11 ? collection(80) : worker === 1 && t === 12 ? collection(135.4) : undefined),
  );
  // t 12's RSS still holds worker 0's part of the garbage in this model; t 12 counts (both have
  // collected by its sample) — so the figure is t 12–40.
  const expected = (20 * MiB + 28 * 1.5 * MiB) / 29 / 150;
  assert.ok(g.rssPerVuBytes !== null && Math.abs(g.rssPerVuBytes - expected) <= 1, `${g.rssPerVuBytes} vs ${expected}`);
  assert.equal(g.rssPerVu.seconds, 29);
  assert.equal(g.rssPerVu.window, 'hold');
  assert.equal(g.rssPerVu.rampCollectionPauseMs, 135.4);
  assert.match(describeRssPerVu(g), /^\d+\.\d KiB RSS per VU after a full GC at the ramp's end \(135 ms pause\); workers' RSS peaked at /);
});

test('collections in the ramp: every hold second counts, and the ramp\'s garbage is in the peak, not the figure', () => {
  const g = run(
    (t) => (t <= 9 ? 30 * MiB : 1.5 * MiB),
    (_, t) => (t === 10 ? collection(90) : undefined),
  );
  assert.equal(g.rssPerVu.seconds, 30);
  assert.equal(g.rssPerVuBytes, Math.round((1.5 * MiB) / 150));
  assert.match(describeRssPerVu(g), /^10\.2 KiB RSS per VU after a full GC at the ramp's end \(90 ms pause\)/);
  // The peak is the workers' whole RSS at its highest second (t ≤ 9: two baselines + 30 MiB), per user at the peak online.
  assert.equal(g.rssPerVu.peakRssBytes, 2 * BASELINE + 30 * MiB);
  assert.equal(g.rssPerVu.peakRssPerVuBytes, Math.round((2 * BASELINE + 30 * MiB) / 150));
  assert.match(describeRssPerVu(g), /workers' RSS peaked at 230 MiB \(1570\.1 KiB per VU all-in\)$/);
});

test('a worker that never collected (gc not exposed) leaves the figure over the whole hold, without the claim', () => {
  const g = run(
    (t) => (t <= 12 ? 20 * MiB : 1.5 * MiB),
    (worker, t) => (worker === 0 && t === 11 ? collection(80) : undefined),
  );
  assert.equal(g.rssPerVu.seconds, 30);
  assert.equal(g.rssPerVu.rampCollectionPauseMs, undefined);
  assert.doesNotMatch(describeRssPerVu(g), /GC/);
});

test('below the sampling\'s resolution it says so, with the resolution, never "0 KiB"', () => {
  // RSS swings ±1 MiB around the baseline: no figure can be told from zero.
  const g = run((t) => (t % 2 === 0 ? 2 ** 20 : -(2 ** 20)));
  assert.equal(g.rssPerVuBytes, null);
  assert.ok(g.rssPerVu.resolutionBytes > 0);
  assert.match(describeRssPerVu(g), /below the sampling's resolution \(\d+\.\d KiB\)/);
  assert.doesNotMatch(describeRssPerVu(g), /^0\.0 KiB/);
});

test('the coordinator\'s RSS: its peak beside the workers\', never in the per-VU figure; absent from journals that did not sample it', () => {
  const above = (t: number) => (t <= 10 ? 0 : 1.5 * MiB);
  const sampled = run(above, undefined, (t) => (80 + (t === 30 ? 45 : t / 10)) * MiB);
  assert.equal(sampled.rssPerVu.coordinatorPeakRssBytes, 125 * MiB);
  assert.equal(sampled.rssPerVuBytes, run(above).rssPerVuBytes, 'the users\' cost is the workers\' alone');
  assert.match(describeRssPerVu(sampled), /workers' RSS peaked at \d+ MiB \([\d.]+ KiB per VU all-in\), the coordinator's at 125 MiB$/);
  const older = run(above);
  assert.equal(older.rssPerVu.coordinatorPeakRssBytes, undefined);
  assert.doesNotMatch(describeRssPerVu(older), /coordinator/);
});

test('an aggregate without a series (the coordinator\'s) keeps no per-second point, and folds every figure as one with it', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { writeSyntheticJournal } = await import('./report-synthetic-journal.js');
  const { readJournal } = await import('../../src/metrics/journal.js');
  const path = join(mkdtempSync(join(tmpdir(), 'imload-no-series-')), 'journal.ndjson');
  writeSyntheticJournal({ path, seconds: 90, users: 300, rampSeconds: 20, workers: 2, fanOut: 4 });
  const seconds = readJournal(path).filter((e): e is JournalSecond => e.type === 'second');
  const withSeries = new RunAggregate();
  const without = new RunAggregate({ series: false });
  for (const second of seconds) {
    withSeries.add(second);
    without.add(second);
  }
  assert.equal(withSeries.series.length, seconds.length);
  assert.equal(without.series.length, 0);
  assert.deepEqual(without.totals, withSeries.totals);
  assert.deepEqual(without.latency('delivery'), withSeries.latency('delivery'));
  assert.deepEqual(without.rssPerVu(), withSeries.rssPerVu());
  assert.deepEqual(without.healthPeaksByWorker(), withSeries.healthPeaksByWorker());
  assert.ok(withSeries.latency('delivery').count > 0, 'the fixture delivers');
});
