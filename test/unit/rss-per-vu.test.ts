/**
 * Generator memory per VU: RSS above the workers' pre-logon baselines, averaged over the hold's
 * seconds, per user online. A second after a garbage collection below the baseline must not turn
 * a run that held users into "0 KiB"; a figure the sampling cannot tell from zero says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunAggregate } from '../../src/metrics/aggregate.js';
import type { JournalSecond, RunPhase } from '../../src/metrics/journal.js';
import { describeRssPerVu, generatorVerdict } from '../../src/analysis/generator.js';
import { createHistogram, summarize } from '../../src/metrics/histogram.js';

const BASELINE = 100 * 2 ** 20;

/** 150 users held from t 11 to 40; `above(t)` is RSS above the baseline, summed over two workers. */
function run(above: (t: number) => number) {
  const aggregate = new RunAggregate();
  for (let t = 1; t <= 45; t++) {
    const phase: RunPhase = t <= 10 ? 'rampUp' : t <= 40 ? 'hold' : 'rampDown';
    const online = t <= 10 ? t * 15 : t <= 40 ? 150 : 0;
    const second: JournalSecond = {
      type: 'second', t, at: t * 1000, phase, online, counters: {}, errors: {}, histograms: {},
      health: [0, 1].map((worker) => ({ worker, eventLoopP99: 10, eventLoopMax: 12, cpuPercent: 20, rssBytes: BASELINE + above(t) / 2, baselineRssBytes: BASELINE, heapUsedBytes: 1, openFds: 10, vus: online / 2 })),
    };
    aggregate.add(second);
  }
  return generatorVerdict(aggregate, summarize(createHistogram()));
}

test('RSS per VU is the hold\'s mean above the baseline per user, even when the last hold second (after a GC) is below it', () => {
  // 1.5 MiB above the baseline through the hold, except a GC at t 40 that drops below it.
  const g = run((t) => (t === 40 ? -2 * 2 ** 20 : 1.5 * 2 ** 20));
  const expected = ((29 * 1.5 * 2 ** 20 - 2 * 2 ** 20) / 30) / 150;
  assert.ok(g.rssPerVuBytes !== null && Math.abs(g.rssPerVuBytes - expected) <= 1, `${g.rssPerVuBytes} vs ${expected}`);
  assert.equal(g.rssPerVu.window, 'hold');
  assert.equal(g.rssPerVu.seconds, 30);
  assert.match(describeRssPerVu(g), /^9\.\d KiB RSS per VU$/);
});

test('below the sampling\'s resolution it says so, with the resolution, never "0 KiB"', () => {
  // RSS swings ±1 MiB around the baseline: no figure can be told from zero.
  const g = run((t) => (t % 2 === 0 ? 2 ** 20 : -(2 ** 20)));
  assert.equal(g.rssPerVuBytes, null);
  assert.ok(g.rssPerVu.resolutionBytes > 0);
  assert.match(describeRssPerVu(g), /below the sampling's resolution \(\d+\.\d KiB\)/);
  assert.doesNotMatch(describeRssPerVu(g), /^0\.0 KiB/);
});
