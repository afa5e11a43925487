/**
 * summarize's one pass over the counts (src/metrics/histogram.ts) gives exactly what
 * hdr-histogram-js's own getValueAtPercentile and mean give, for any recorded values: small and
 * huge, one value many times, merged histograms that resized, and decoded ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHistogram, decodeHistogram, encodeHistogram, percentileMs, summarize, type Histogram } from '../../src/metrics/histogram.js';

/** The summary as the library computes it, percentile by percentile. */
function librarySummary(h: Histogram) {
  const round = (us: number) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  return { count: h.totalCount, p50: percentileMs(h, 50), p90: percentileMs(h, 90), p95: percentileMs(h, 95), p99: percentileMs(h, 99), max: percentileMs(h, 100), mean: round(h.mean) };
}

const microseconds = fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 60_000_000 }), fc.constantFrom(0, 1, 1023, 1024, 2047, 2048, 4096, 1_000_000));

test('summarize: bit for bit the library’s percentiles and mean', () => {
  fc.assert(
    fc.property(fc.array(fc.array(fc.tuple(microseconds, fc.integer({ min: 1, max: 50 })), { maxLength: 200 }), { minLength: 1, maxLength: 4 }), (parts) => {
      const merged = createHistogram();
      for (const part of parts) {
        const h = createHistogram();
        for (const [us, times] of part) h.recordValueWithCount(us, times);
        merged.add(decodeHistogram(encodeHistogram(h)));
      }
      assert.deepEqual(summarize(merged), librarySummary(merged));
    }),
    { numRuns: 300, seed: 20 },
  );
});

test('summarize: an empty histogram is all zeros', () => {
  assert.deepEqual(summarize(createHistogram()), { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 });
});
