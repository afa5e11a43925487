import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHistogram, decodeHistogram, encodeHistogram, recordMs, summarize } from '../../src/metrics/histogram.js';
import { Random } from '../../src/scenarios/random.js';

test('histograms merged from encoded parts equal one histogram of all values, exactly', () => {
  const whole = createHistogram();
  const parts = [createHistogram(), createHistogram(), createHistogram()];
  const rng = new Random(5);
  for (let i = 0; i < 30_000; i++) {
    // A long-tailed latency mix from 0.05 ms to about 20 s.
    const ms = rng.next() < 0.99 ? rng.exponential(1 / 3) : 1000 + rng.next() * 19_000;
    recordMs(whole, ms);
    recordMs(parts[i % 3]!, ms);
  }
  const merged = createHistogram();
  for (const part of parts) merged.add(decodeHistogram(encodeHistogram(part)));
  assert.deepEqual(summarize(merged), summarize(whole));
  assert.equal(merged.totalCount, 30_000);
});

test('percentiles are within the histogram precision (3 significant digits)', () => {
  const h = createHistogram();
  for (let v = 1; v <= 10_000; v++) recordMs(h, v);
  const s = summarize(h);
  assert.ok(Math.abs(s.p50 - 5000) / 5000 < 0.001, `p50 ${s.p50}`);
  assert.ok(Math.abs(s.p99 - 9900) / 9900 < 0.001, `p99 ${s.p99}`);
  assert.ok(Math.abs(s.max - 10_000) / 10_000 < 0.001, `max ${s.max}`);
});

test('an empty histogram summarises to zero samples', () => {
  assert.deepEqual(summarize(createHistogram()), { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 });
});
