/**
 * imload's exact HDR histograms (µs, 3 significant digits) as Prometheus histograms: native
 * (sparse exponential) buckets at a stated schema, or classic `le` buckets. Both are cumulative
 * over the run, like every Prometheus counter, so they merge across generators and segments by
 * summing (sum by (le), or sum of native histograms of one schema).
 *
 * Native schema s: bucket i holds values in (2^((i-1)/2^s), 2^(i/2^s)] seconds; the default
 * schema 4 has buckets 2^(1/16) ≈ 1.044 wide, so a quantile read from it is within 4.4 % of the
 * HDR value (plus HDR's own 0.1 %). Values of exactly 0 go to the zero bucket.
 */
import { decodeHistogram, type Histogram } from '../metrics/histogram.js';

export const DEFAULT_NATIVE_SCHEMA = 4;
/** The zero bucket's width: what Prometheus's Go client uses by default. */
export const NATIVE_ZERO_THRESHOLD = 2.938735877055719e-39;
/** Classic bucket bounds in seconds (1 ms … 30 s), then +Inf. */
export const CLASSIC_BOUNDS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/** Relative width of one native bucket at a schema: a quantile's worst relative error. */
export const nativeResolution = (schema: number): number => 2 ** (2 ** -schema) - 1;

/** hdr-histogram-js's JS histogram internals read here: its counts array and the value each index stands for. */
interface CountsView {
  readonly countsArrayLength: number;
  readonly subBucketHalfCount: number;
  readonly unitMagnitude: number;
  readonly totalCount: number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
  lowestEquivalentValue(value: number): number;
  medianEquivalentValue(value: number): number;
}

/**
 * What one HDR counts index holds, as the outputs export it: its native bucket (null: the zero
 * bucket) and its classic bucket, both placed by the bottom of its HDR bucket (what was recorded,
 * to HDR's 0.1 %: 100 ms stays ≤ 0.1 s), and `medianSeconds` its middle (for sums, as HDR's mean).
 */
interface IndexBuckets {
  readonly medianSeconds: number;
  readonly native: number | null;
  readonly classic: number;
}

/**
 * Per HDR layout and schema, each counts index's buckets, worked out the first time a histogram
 * has a count there. Why: a --cpu-prof of `--out prometheus` replaying a 20,000-user journal
 * (issue 20) had 70 % of the output's time in walking the library's recorded-values iterator and
 * taking a log2 and a power per value, every second, for the same few thousand indexes.
 */
const INDEX_BUCKETS = new Map<string, IndexBuckets[]>();

function indexBuckets(h: CountsView, schema: number): IndexBuckets[] {
  const key = `${h.subBucketHalfCount}/${h.unitMagnitude}/${schema}`;
  let table = INDEX_BUCKETS.get(key);
  if (!table) INDEX_BUCKETS.set(key, (table = []));
  return table;
}

function bucketsOf(h: CountsView, index: number, schema: number): IndexBuckets {
  const value = h.valueFromIndex(index);
  const seconds = h.lowestEquivalentValue(value) / 1e6;
  const classic = CLASSIC_BOUNDS_SECONDS.findIndex((bound) => seconds <= bound);
  return {
    medianSeconds: h.medianEquivalentValue(value) / 1e6,
    native: seconds <= NATIVE_ZERO_THRESHOLD ? null : nativeIndex(seconds, schema),
    classic: classic < 0 ? CLASSIC_BOUNDS_SECONDS.length : classic,
  };
}

/** The native bucket index of a positive value at a schema. */
export function nativeIndex(value: number, schema: number): number {
  const scaled = Math.log2(value) * 2 ** schema;
  let index = Math.ceil(scaled);
  // Floating point at exact powers: keep (lower, upper] exact.
  const upper = (i: number) => 2 ** (i / 2 ** schema);
  if (value > upper(index)) index++;
  else if (value <= upper(index - 1)) index--;
  return index;
}

/** A cumulative latency distribution in seconds, fed one interval histogram (HDR, µs) at a time. */
export class CumulativeLatency {
  count = 0;
  /** Seconds. */
  sum = 0;
  zeroCount = 0;
  /** Native bucket index → count. */
  readonly native = new Map<number, number>();
  /** Classic bucket counts (not cumulative over le): index i counts values ≤ bound i and > bound i-1; last is +Inf. */
  readonly classic = new Array<number>(CLASSIC_BOUNDS_SECONDS.length + 1).fill(0);

  constructor(readonly schema = DEFAULT_NATIVE_SCHEMA) {}

  addEncoded(encoded: string): void {
    this.add(decodeHistogram(encoded));
  }

  /** Every recorded count of `histogram`, in increasing value order (as the library's iterator goes). */
  add(histogram: Histogram): void {
    const h = histogram as unknown as CountsView;
    const table = indexBuckets(h, this.schema);
    let seen = 0;
    for (let index = 0; index < h.countsArrayLength && seen < h.totalCount; index++) {
      const count = h.getCountAtIndex(index);
      if (count === 0) continue;
      seen += count;
      const buckets = (table[index] ??= bucketsOf(h, index, this.schema));
      this.count += count;
      this.sum += buckets.medianSeconds * count;
      if (buckets.native === null) this.zeroCount += count;
      else this.native.set(buckets.native, (this.native.get(buckets.native) ?? 0) + count);
      this.classic[buckets.classic]! += count;
    }
  }

  /** Cumulative classic counts by bound (`le`), ending with +Inf. */
  classicCumulative(): Array<[le: string, count: number]> {
    let running = 0;
    return this.classic.map((c, i) => {
      running += c;
      return [i < CLASSIC_BOUNDS_SECONDS.length ? String(CLASSIC_BOUNDS_SECONDS[i]) : '+Inf', running];
    });
  }

  /** Positive buckets as remote write's spans and deltas. */
  nativeSpans(): { spans: Array<{ offset: number; length: number }>; deltas: number[] } {
    const indexes = [...this.native.keys()].sort((a, b) => a - b);
    const spans: Array<{ offset: number; length: number }> = [];
    const deltas: number[] = [];
    let previousIndex = 0;
    let previousCount = 0;
    for (const [k, index] of indexes.entries()) {
      const gap = k === 0 ? index : index - previousIndex - 1;
      // Small gaps are filled with empty buckets (one span), as Prometheus's client does.
      if (k === 0 || gap > 2) spans.push({ offset: gap, length: 0 });
      else for (let g = 0; g < gap; g++) {
        spans[spans.length - 1]!.length++;
        deltas.push(0 - previousCount);
        previousCount = 0;
      }
      const count = this.native.get(index)!;
      spans[spans.length - 1]!.length++;
      deltas.push(count - previousCount);
      previousCount = count;
      previousIndex = index;
    }
    return { spans, deltas };
  }
}
