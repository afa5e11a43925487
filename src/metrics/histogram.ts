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

/** Percentiles in ms (3 decimals), from the merged histogram, never averaged across parts. */
export function summarize(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  if (count === 0) return { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  return {
    count,
    p50: percentileMs(histogram, 50),
    p90: percentileMs(histogram, 90),
    p95: percentileMs(histogram, 95),
    p99: percentileMs(histogram, 99),
    // Bucket-based like the percentiles, so a merged histogram reports the same max as one whole.
    max: percentileMs(histogram, 100),
    mean: round(histogram.mean),
  };
}
