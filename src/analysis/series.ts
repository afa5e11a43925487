/**
 * Per-second time series for the report's charts, read from the journal's seconds and
 * downsampled so a long run still makes a small page: each bucket keeps the worst value of
 * latencies and health, the mean of rates.
 *
 * The interval percentiles are computed here rather than taken from RunAggregate.series: that
 * summarises every interval histogram in full (mean included, which hdr-histogram-js computes
 * slowly), and the charts need only three percentiles.
 */
import { decodeHistogram } from '../metrics/histogram.js';
import type { JournalEntry, JournalHeader, JournalSecond, RunPhase } from '../metrics/journal.js';
import type { MetricRegistry } from '../metrics/registry.js';
import { METRICS } from '../protocols/metric-registry.js';

/** Latencies with per-second percentile columns (`latency:<name>:p99`): the registry's server-side ones (not the generator's lateness). */
export function chartLatencies(registry: MetricRegistry): string[] {
  return registry.latencies().filter((m) => m.threshold).map((m) => m.name);
}
export const PERCENTILES = ['p50', 'p95', 'p99'] as const;

export type Column = Array<number | null>;

export interface TimeSeries {
  /** Seconds since the run started (the last second of each bucket). */
  readonly t: number[];
  /** Seconds per point after downsampling (1 = every journaled second). */
  readonly bucketSeconds: number;
  readonly columns: Record<string, Column>;
  /** Error kinds seen, most frequent first; their columns are `error:<kind>`. */
  readonly errorKinds: string[];
  /** Latencies with percentile columns `latency:<name>:<p>`, in registry order (chartLatencies). */
  readonly latencies: readonly string[];
  /** The run's phases as journaled, in order; kept whole by downsampling. */
  readonly phases: PhaseSpan[];
}

/** A stretch of consecutive journaled seconds in one phase: the seconds in (from, to]. */
export interface PhaseSpan {
  readonly phase: RunPhase;
  readonly from: number;
  readonly to: number;
}

/** Consecutive seconds of one phase joined into spans (a phase seen twice gives two spans). */
export function phaseSpans(seconds: readonly JournalSecond[]): PhaseSpan[] {
  const spans: Array<{ phase: RunPhase; from: number; to: number }> = [];
  for (const second of seconds) {
    const last = spans.at(-1);
    if (last && last.phase === second.phase && last.to === second.t - 1) last.to = second.t;
    else spans.push({ phase: second.phase, from: second.t - 1, to: second.t });
  }
  return spans;
}

/** Columns whose buckets keep their maximum; every other column keeps its mean. */
const MAX_COLUMNS = /^(online|target|latency:|health:)/;

/** Planned online users at `seconds` into the run, from the header's timeline (ms) and population. */
export function plannedOnline(header: JournalHeader, users: number, seconds: number): number {
  const ms = seconds * 1000;
  const { rampUpEnd, holdEnd, end } = header.timeline;
  if (ms <= rampUpEnd) return rampUpEnd > 0 ? Math.min(users, Math.round((users * ms) / rampUpEnd)) : users;
  if (ms <= holdEnd) return users;
  if (ms >= end) return 0;
  return Math.round(users * (1 - (ms - holdEnd) / (end - holdEnd)));
}

/** An interval histogram's percentiles in ms (µs recorded, 3 decimals, like summarize()). */
function intervalPercentiles(encoded: string | undefined): Record<(typeof PERCENTILES)[number], number> | null {
  if (encoded === undefined) return null;
  const histogram = decodeHistogram(encoded);
  if (histogram.totalCount === 0) return null;
  const at = (p: number) => Math.round(histogram.getValueAtPercentile(p)) / 1000;
  return { p50: at(50), p95: at(95), p99: at(99) };
}

/** Every journaled second (no downsampling); see downsample() for the charts. */
export function buildTimeSeries(entries: readonly JournalEntry[], users: number): TimeSeries {
  const header = entries[0] as JournalHeader;
  const latencies = chartLatencies(METRICS.withJournal(header.metrics));
  const seconds = entries.filter((e): e is JournalSecond => e.type === 'second');
  const errorTotals = new Map<string, number>();
  for (const second of seconds) {
    for (const [kind, n] of Object.entries(second.errors)) errorTotals.set(kind, (errorTotals.get(kind) ?? 0) + n);
  }
  const errorKinds = [...errorTotals.entries()].sort((a, b) => b[1] - a[1]).map(([kind]) => kind);

  const t: number[] = [];
  const columns: Record<string, Column> = {};
  const push = (name: string, value: number | null) => (columns[name] ??= []).push(value);
  for (const second of seconds) {
    const c = second.counters;
    const bytes = (c.bytesIn ?? 0) + (c.bytesOut ?? 0);
    t.push(second.t);
    push('online', second.online);
    push('target', plannedOnline(header, users, second.t));
    push('logonOk', c.logonOk ?? 0);
    push('logonFailed', c.logonFailed ?? 0);
    push('sent', (c.messagesSent ?? 0) + (c.channelMessagesSent ?? 0));
    push('delivered', c.deliveriesReceived ?? 0);
    // Same definition as RunAggregate: application kbit/s per online user over this second.
    push('kbpsPerUser', second.online > 0 ? (bytes * 8) / 1000 / second.online : null);
    push('errors', Object.values(second.errors).reduce((a, b) => a + b, 0));
    for (const kind of errorKinds) push(`error:${kind}`, second.errors[kind] ?? 0);
    for (const kind of latencies) {
      const l = intervalPercentiles(second.histograms[kind]);
      for (const p of PERCENTILES) push(`latency:${kind}:${p}`, l ? l[p] : null);
    }
    const health = second.health;
    push('health:eventLoopP99', health.length > 0 ? Math.max(...health.map((h) => h.eventLoopP99)) : null);
    push('health:cpuPercent', health.length > 0 ? Math.max(...health.map((h) => h.cpuPercent)) : null);
    push('health:rssMiB', health.length > 0 ? health.reduce((sum, h) => sum + h.rssBytes, 0) / 2 ** 20 : null);
    // One unit for the host, the server and the generator: cores busy (docs/metrics.md § Saturation).
    push('health:hostCores', second.host ? (second.host.cpuPercent / 100) * second.host.cores : null);
    push('health:hostCoreCount', second.host?.cores ?? null);
    push('health:serverCores', second.server ? second.server.cpuPercent / 100 : null);
    push('health:generatorCores', health.length > 0 ? health.reduce((sum, h) => sum + h.cpuPercent, 0) / 100 : null);
  }
  // A latency only some runs measure (network targets' same/cross split) is charted only when sampled.
  const charted = latencies.filter((kind) => !METRICS.get(kind)?.ifSampled || PERCENTILES.some((p) => hasData(columns[`latency:${kind}:${p}`])));
  return { t, bucketSeconds: 1, columns, errorKinds, latencies: charted, phases: phaseSpans(seconds) };
}

export function downsample(series: TimeSeries, maxPoints: number): TimeSeries {
  const n = series.t.length;
  if (n <= maxPoints) return series;
  const size = Math.ceil(n / maxPoints);
  const t: number[] = [];
  for (let start = 0; start < n; start += size) t.push(series.t[Math.min(n, start + size) - 1]!);
  const columns: Record<string, Column> = {};
  for (const [name, values] of Object.entries(series.columns)) {
    const keepMax = MAX_COLUMNS.test(name);
    const out: Column = [];
    for (let start = 0; start < n; start += size) {
      let sum = 0;
      let count = 0;
      let max = Number.NEGATIVE_INFINITY;
      for (let i = start; i < Math.min(n, start + size); i++) {
        const v = values[i];
        if (v === null || v === undefined) continue;
        sum += v;
        count++;
        max = Math.max(max, v);
      }
      out.push(count === 0 ? null : keepMax ? max : sum / count);
    }
    columns[name] = out;
  }
  return { t, bucketSeconds: size * series.bucketSeconds, columns, errorKinds: series.errorKinds, latencies: series.latencies, phases: series.phases };
}

/** True when a column has at least one measured point. */
export function hasData(column: Column | undefined): boolean {
  return column !== undefined && column.some((v) => v !== null);
}
