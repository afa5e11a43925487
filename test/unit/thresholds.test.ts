import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseThresholdCheck } from '../../src/protocols/metric-registry.js';
import { evaluateThresholds } from '../../src/analysis/thresholds.js';
import { metricValue } from '../../src/analysis/summary.js';
import { createHistogram, recordMs, summarize } from '../../src/metrics/histogram.js';
import { LATENCIES, type LatencyName } from '../../src/metrics/names.js';

test('checks parse with units into base units', () => {
  assert.deepEqual(parseThresholdCheck('delivery.p99 < 2s'), { metric: 'delivery.p99', op: '<', value: 2000 });
  assert.deepEqual(parseThresholdCheck('errors.rate <= 1%'), { metric: 'errors.rate', op: '<=', value: 0.01 });
  assert.deepEqual(parseThresholdCheck('users.peakOnline>=19900'), { metric: 'users.peakOnline', op: '>=', value: 19900 });
});

test('bad checks say why', () => {
  assert.match(parseThresholdCheck('delivery.p99 < 2 parsecs') as string, /expected "metric op value"/);
  assert.match(parseThresholdCheck('users.peakOnline < 3s') as string, /time units only apply to latencies/);
  assert.match(parseThresholdCheck('logon.p95 < 5%') as string, /only applies to rates/);
});

test('a threshold on something never measured fails', () => {
  const values: Record<string, number | null> = { 'delivery.p99': null, 'errors.count': 0 };
  const results = evaluateThresholds(
    [
      { check: 'delivery.p99 < 2s', abortOnFail: false, delayAbortEval: 0 },
      { check: 'errors.count == 0', abortOnFail: true, delayAbortEval: 0 },
    ],
    (m) => values[m] ?? null,
  );
  assert.deepEqual(results.map((r) => r.ok), [false, true]);
  assert.equal(results[0]!.actual, null);
});

test('rates take a percentage or a fraction below 1, nothing else', () => {
  assert.deepEqual(parseThresholdCheck('errors.rate < 0.01'), { metric: 'errors.rate', op: '<', value: 0.01 });
  assert.deepEqual(parseThresholdCheck('users.onlineRatio >= 100%'), { metric: 'users.onlineRatio', op: '>=', value: 1 });
  // `< 1` read as 100 % is what people rarely mean: refused, saying what to write.
  assert.match(parseThresholdCheck('errors.rate < 1') as string, /errors\.rate: 1 is ambiguous for a rate: write a percentage like 1% or a fraction below 1 like 0\.01/);
  assert.match(parseThresholdCheck('messages.lossRate <= 5') as string, /5 is ambiguous/);
  assert.match(parseThresholdCheck('errors.rate < 150%') as string, /0% to 100%, not 150%/);
  assert.match(parseThresholdCheck('errors.rate < 2s') as string, /a rate takes "%" or no unit/);
});

test('any percentile pNN.N is a latency statistic, read from the histogram when the summary lacks it', () => {
  for (const stat of ['p50', 'p75', 'p95', 'p99', 'p99.9', 'p99.99', 'max', 'mean']) {
    assert.deepEqual(parseThresholdCheck(`presence.${stat} < 2s`), { metric: `presence.${stat}`, op: '<', value: 2000 }, stat);
  }
  for (const stat of ['p0', 'p100', 'p999', 'p99.', 'q99', 'p']) {
    assert.match(parseThresholdCheck(`delivery.${stat} < 2s`) as string, /unknown metric/, stat);
  }
  // 1,000 samples of 1..1000 ms: p99.9 is 999 ms, p75 750 ms, neither in the summary's fixed set.
  const histogram = createHistogram();
  for (let ms = 1; ms <= 1000; ms++) recordMs(histogram, ms);
  const histograms = Object.fromEntries(LATENCIES.map((name) => [name, name === 'delivery' ? histogram : createHistogram()])) as Record<LatencyName, ReturnType<typeof createHistogram>>;
  const figures = {
    users: { peakOnline: 1, onlineRatio: 1, logonFailures: 0 },
    latency: Object.fromEntries(LATENCIES.map((name) => [name, summarize(histograms[name])])),
    messages: { lost: 0, lossRate: 0, duplicates: 0, misrouted: 0 },
    errors: { total: 0, rate: 0 },
    generator: { eventLoopP99: 0 },
    bandwidth: { kbpsPerUser: 0 },
  } as unknown as Parameters<typeof metricValue>[0];
  assert.ok(Math.abs(metricValue(figures, 'delivery.p99.9', histograms)! - 999) <= 1);
  assert.ok(Math.abs(metricValue(figures, 'delivery.p75', histograms)! - 750) <= 1);
  assert.equal(metricValue(figures, 'delivery.p99', histograms), figures.latency.delivery.p99);
  assert.equal(metricValue(figures, 'join.p99.9', histograms), null, 'no sample: unmeasured');
});

test('latency limits take the same durations as scenario files: 1m30s, 1h, 250ms; out of order is refused', () => {
  assert.deepEqual(parseThresholdCheck('logon.p95 < 1m30s'), { metric: 'logon.p95', op: '<', value: 90_000 });
  assert.deepEqual(parseThresholdCheck('delivery.p99 <= 1h'), { metric: 'delivery.p99', op: '<=', value: 3_600_000 });
  assert.deepEqual(parseThresholdCheck('join.max < 250ms'), { metric: 'join.max', op: '<', value: 250 });
  assert.match(parseThresholdCheck('logon.p95 < 30s1m') as string, /is not a duration like/);
  assert.match(parseThresholdCheck('users.peakOnline >= 1m30s') as string, /time units only apply to latencies/);
});

test('one segment of a multi-host run leaves thresholds on cross-segment deliveries to the merged run, and judges the rest', () => {
  // 20 % of this segment's expected deliveries are other segments' receipts: judged here, that is a false loss.
  const values: Record<string, number> = { 'messages.lossRate': 0.2, 'messages.lost': 400, 'errors.rate': 0.5 };
  const specs = ['messages.lossRate < 0.1%', 'messages.lost == 0', 'errors.rate < 1%'].map((check) => ({ check, abortOnFail: true, delayAbortEval: 0 }));
  const segment = evaluateThresholds(specs, (m) => values[m] ?? null, { part: { index: 1, count: 3 } });
  assert.deepEqual(segment.map((r) => [r.ok, r.actual]), [[true, null], [true, null], [false, 0.5]]);
  assert.match(segment[0]!.notJudged!, /^segment 2 of 3 holds only its own users' side of messages\.lossRate; imload merge judges it/);
  assert.equal(segment[2]!.notJudged, undefined);
  // The merged run (segment 0 of 1) and a whole run judge every one.
  for (const part of [{ index: 0, count: 1 }, undefined]) {
    const whole = evaluateThresholds(specs, (m) => values[m] ?? null, { part });
    assert.deepEqual(whole.map((r) => r.ok), [false, false, false]);
    assert.ok(whole.every((r) => r.notJudged === undefined));
  }
});
