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

interface IterationValue {
  readonly valueIteratedTo: number;
  readonly countAtValueIteratedTo: number;
}
interface Iterable {
  readonly recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): IterationValue };
  lowestEquivalentValue(value: number): number;
  medianEquivalentValue(value: number): number;
}

/**
 * Each distinct recorded HDR value with its count: `us` the bottom of its HDR bucket (what was
 * recorded, to HDR's 0.1 %: 100 ms stays ≤ 0.1 s), `medianUs` its middle (for sums, as HDR's mean).
 */
export function recordedValues(histogram: Histogram): Array<[us: number, count: number, medianUs: number]> {
  const h = histogram as unknown as Iterable;
  const it = h.recordedValuesIterator;
  it.reset();
  const out: Array<[number, number, number]> = [];
  while (it.hasNext()) {
    const v = it.next();
    out.push([h.lowestEquivalentValue(v.valueIteratedTo), v.countAtValueIteratedTo, h.medianEquivalentValue(v.valueIteratedTo)]);
  }
  return out;
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

  add(histogram: Histogram): void {
    for (const [us, count, medianUs] of recordedValues(histogram)) {
      const seconds = us / 1e6;
      this.count += count;
      this.sum += (medianUs / 1e6) * count;
      if (seconds <= NATIVE_ZERO_THRESHOLD) this.zeroCount += count;
      else {
        const i = nativeIndex(seconds, this.schema);
        this.native.set(i, (this.native.get(i) ?? 0) + count);
      }
      let b = CLASSIC_BOUNDS_SECONDS.findIndex((bound) => seconds <= bound);
      if (b < 0) b = CLASSIC_BOUNDS_SECONDS.length;
      this.classic[b]! += count;
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
