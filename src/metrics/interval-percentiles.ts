/**
 * The per-second percentiles the charts draw (p50/p95/p99 of each interval histogram), worked out
 * once per journal record. Decoding the histograms is most of a report's cost, and two readers
 * need them: RunAggregate (the summary, which also merges them) and the charts' time series
 * (src/analysis/series.ts). Remembered by record (WeakMap), so a report that reads its journal
 * once decodes each histogram once, and nothing outlives the records.
 */
import { decodeHistogram, type Histogram } from './histogram.js';
import type { JournalSecond } from './journal.js';

export interface IntervalPercentiles {
  /** ms, 3 decimals, like summarize(). */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly count: number;
}

export type SecondPercentiles = Readonly<Partial<Record<string, IntervalPercentiles>>>;

const bySecond = new WeakMap<JournalSecond, SecondPercentiles>();

const ms = (us: number) => Math.round(us) / 1000;

/**
 * This second's percentiles by latency name (empty histograms left out). `merge`, when given, is
 * handed every decoded histogram (empty ones too) and the second is decoded even if remembered:
 * whoever merges needs the histograms themselves, which are too big to keep.
 */
export function intervalPercentiles(second: JournalSecond, merge?: (name: string, interval: Histogram) => void): SecondPercentiles {
  const known = bySecond.get(second);
  if (known && !merge) return known;
  const percentiles: Record<string, IntervalPercentiles> = {};
  for (const [name, encoded] of Object.entries(second.histograms)) {
    if (encoded === undefined) continue;
    const interval = decodeHistogram(encoded);
    merge?.(name, interval);
    if (interval.totalCount === 0) continue;
    percentiles[name] = {
      p50: ms(interval.getValueAtPercentile(50)),
      p95: ms(interval.getValueAtPercentile(95)),
      p99: ms(interval.getValueAtPercentile(99)),
      count: interval.totalCount,
    };
  }
  bySecond.set(second, percentiles);
  return percentiles;
}
