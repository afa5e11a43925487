/**
 * HDR histograms: constant memory whatever the run length, and exact merges across workers and
 * hosts (the encoded form is the standard V2 compressed encoding). Values are recorded in
 * microseconds because the library truncates to integers; summaries are reported in ms.
 */
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

const SETTINGS = {
  bitBucketSize: 32,
  numberOfSignificantValueDigits: 3,
  autoResize: true,
  useWebAssembly: false,
  lowestDiscernibleValue: 1,
} as const;

export function createHistogram(): Histogram {
  return hdr.build(SETTINGS);
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, SETTINGS.bitBucketSize, SETTINGS.useWebAssembly);
}

/** Records a latency given in (fractional) milliseconds. Negative values (clock skew) record as 0. */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(ms > 0 ? Math.round(ms * 1000) : 0);
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

const round = (us: number) => Math.round(us) / 1000;

/** Any percentile (0 < p ≤ 100) in ms (3 decimals): p99.9 is as exact as p99. */
export function percentileMs(histogram: Histogram, percentile: number): number {
  return round(histogram.getValueAtPercentile(percentile));
}

/** hdr-histogram-js's JS histogram internals that summarize reads (the same its getValueAtPercentile and mean use). */
interface CountsView {
  readonly countsArrayLength: number;
  readonly subBucketHalfCount: number;
  readonly unitMagnitude: number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
  highestEquivalentValue(value: number): number;
  medianEquivalentValue(value: number): number;
}

/**
 * Per counts layout, each index's highest and median equivalent values, from the library's own
 * functions the first time the index has a count. Why: after the one pass, a --cpu-prof of the
 * live page on a real 20,000-user journal still had two thirds of summarize in working those
 * values out (bucket and sub-bucket of each value, every second), for the same indexes.
 */
const INDEX_VALUES = new Map<string, Array<readonly [highest: number, median: number]>>();

function indexValues(h: CountsView): Array<readonly [highest: number, median: number]> {
  const key = `${h.subBucketHalfCount}/${h.unitMagnitude}`;
  let table = INDEX_VALUES.get(key);
  if (!table) INDEX_VALUES.set(key, (table = []));
  return table;
}

/** The summary's percentiles, in increasing order; 100 is the max. */
const SUMMARY_PERCENTILES = [50, 90, 95, 99, 100] as const;

/** getValueAtPercentile's count for a percentile: rounded up, guarding against 1 ulp of floating-point error. */
function countAtPercentile(percentile: number, total: number): number {
  const fp = (Math.min(percentile, 100) / 100) * total;
  return Math.max(Math.ceil(fp - 2 ** (Math.floor(Math.log2(fp)) - 52)), 1);
}

/**
 * Percentiles in ms (3 decimals), from the merged histogram, never averaged across parts.
 *
 * One pass over the counts instead of the library's six (five getValueAtPercentile scans and
 * `mean`'s iterator, which allocates per value): the live page summarises every latency of the
 * run so far once a second, and a --cpu-prof of it at 20,000 users (bench/RESULTS.md, issue 20)
 * had the six passes at half its build time. Same arithmetic in the same order, so the figures
 * are bit for bit the library's (test/unit/histogram-summary.test.ts).
 */
export function summarize(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  if (count === 0) return { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const h = histogram as unknown as CountsView;
  const table = indexValues(h);
  const targets = SUMMARY_PERCENTILES.map((p) => countAtPercentile(p, count));
  const values: number[] = [];
  let seen = 0;
  let total = 0;
  for (let i = 0; i < h.countsArrayLength && seen < count; i++) {
    const n = h.getCountAtIndex(i);
    if (n === 0) continue;
    const [highest, median] = (table[i] ??= [h.highestEquivalentValue(h.valueFromIndex(i)), h.medianEquivalentValue(h.valueFromIndex(i))]);
    seen += n;
    total += median * n;
    while (values.length < targets.length && seen >= targets[values.length]!) values.push(highest);
  }
  const [p50, p90, p95, p99, max] = values.map(round) as [number, number, number, number, number];
  // Bucket-based like the percentiles, so a merged histogram reports the same max as one whole.
  return { count, p50, p90, p95, p99, max, mean: round(total / count) };
}
