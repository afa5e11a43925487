/**
 * Per-second time series for the report's charts, read from the journal's seconds and
 * downsampled so a long run still makes a small page: each bucket keeps its lowest and highest
 * value of every column (downsample()).
 *
 * The interval percentiles come from intervalPercentiles(), which RunAggregate fills as it
 * builds the summary from the same records: each histogram is decoded once per report (and once
 * per second on the live page, whose fold has decoded the second before the series reads it).
 */
import { intervalPercentiles } from '../metrics/interval-percentiles.js';
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
  /** Seconds since the run started: every journaled second, or each bucket's first and last after downsample(). */
  readonly t: number[];
  /** Seconds per bucket after downsampling (1 = every journaled second, one point each). */
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
  for (const second of seconds) extendPhaseSpans(spans, second);
  return spans;
}

function extendPhaseSpans(spans: Array<{ phase: RunPhase; from: number; to: number }>, second: JournalSecond): void {
  const last = spans.at(-1);
  if (last && last.phase === second.phase && last.to === second.t - 1) last.to = second.t;
  else spans.push({ phase: second.phase, from: second.t - 1, to: second.t });
}

/** Planned online users at `seconds` into the run, from the header's timeline (ms) and population. */
export function plannedOnline(header: JournalHeader, users: number, seconds: number): number {
  const ms = seconds * 1000;
  const { rampUpEnd, holdEnd, end } = header.timeline;
  if (ms <= rampUpEnd) return rampUpEnd > 0 ? Math.min(users, Math.round((users * ms) / rampUpEnd)) : users;
  if (ms <= holdEnd) return users;
  if (ms >= end) return 0;
  return Math.round(users * (1 - (ms - holdEnd) / (end - holdEnd)));
}

/** Every journaled second (no downsampling); see downsample() for the charts. */
export function buildTimeSeries(entries: readonly JournalEntry[], users: number): TimeSeries {
  const builder = new TimeSeriesBuilder(entries[0] as JournalHeader, users);
  for (const entry of entries) if (entry.type === 'second') builder.add(entry);
  return builder.build();
}

/**
 * buildTimeSeries one second at a time: the live page (src/live/) adds each journaled second as
 * it comes and builds the series so far, instead of reading every second again per update.
 */
export class TimeSeriesBuilder {
  private readonly latencies: string[];
  private readonly t: number[] = [];
  /** Columns other than the error kinds', in the order buildTimeSeries has always written them. */
  private readonly columns = new Map<string, Column>();
  /** Per error kind: its column and its total (first seen first, as the totals' sort keeps ties). */
  private readonly errorColumns = new Map<string, { column: Column; total: number }>();
  private readonly sampled = new Set<string>();
  private readonly phases: Array<{ phase: RunPhase; from: number; to: number }> = [];

  constructor(
    private readonly header: JournalHeader,
    private readonly users: number,
  ) {
    this.latencies = chartLatencies(METRICS.withJournal(header.metrics));
  }

  add(second: JournalSecond): void {
    const push = (name: string, value: number | null) => {
      let column = this.columns.get(name);
      if (!column) this.columns.set(name, (column = []));
      column.push(value);
    };
    const c = second.counters;
    const bytes = (c.bytesIn ?? 0) + (c.bytesOut ?? 0);
    const n = this.t.length;
    this.t.push(second.t);
    push('online', second.online);
    push('target', plannedOnline(this.header, this.users, second.t));
    push('logonOk', c.logonOk ?? 0);
    push('logonFailed', c.logonFailed ?? 0);
    push('sent', (c.messagesSent ?? 0) + (c.channelMessagesSent ?? 0));
    push('delivered', c.deliveriesReceived ?? 0);
    // Same definition as RunAggregate: application kbit/s per online user over this second.
    push('kbpsPerUser', second.online > 0 ? (bytes * 8) / 1000 / second.online : null);
    push('errors', Object.values(second.errors).reduce((a, b) => a + b, 0));
    for (const [kind, count] of Object.entries(second.errors)) {
      // A kind first seen now had 0 in every earlier second.
      const entry = this.errorColumns.get(kind) ?? this.errorColumns.set(kind, { column: new Array<number | null>(n).fill(0), total: 0 }).get(kind)!;
      entry.total += count;
    }
    for (const [kind, { column }] of this.errorColumns) column.push(second.errors[kind] ?? 0);
    const percentiles = intervalPercentiles(second);
    for (const kind of this.latencies) {
      const l = percentiles[kind];
      if (l) this.sampled.add(kind);
      for (const p of PERCENTILES) push(`latency:${kind}:${p}`, l ? l[p] : null);
    }
    const health = second.health;
    // A stale sample is a silent worker's last one repeated (stopped, stalled): its memory is still
    // held, so RSS keeps it, but its delay and CPU were not measured this second. The worst worker's
    // figures come from the workers that did sample; a sum over workers is unknown while one is silent.
    // The stall itself shows in the max of the sample after it (the sampler's own lateness).
    const fresh = health.filter((h) => !h.stale);
    push('health:eventLoopP99', fresh.length > 0 ? Math.max(...fresh.map((h) => h.eventLoopP99)) : null);
    push('health:eventLoopMax', fresh.length > 0 ? Math.max(...fresh.map((h) => h.eventLoopMax)) : null);
    push('health:cpuPercent', fresh.length > 0 ? Math.max(...fresh.map((h) => h.cpuPercent)) : null);
    push('health:rssMiB', health.length > 0 ? health.reduce((sum, h) => sum + h.rssBytes, 0) / 2 ** 20 : null);
    // One unit for the host, the server and the generator: cores busy (docs/metrics.md § Saturation).
    push('health:hostCores', second.host ? (second.host.cpuPercent / 100) * second.host.cores : null);
    push('health:hostCoreCount', second.host?.cores ?? null);
    push('health:serverCores', second.server ? second.server.cpuPercent / 100 : null);
    push('health:generatorCores', health.length > 0 && fresh.length === health.length ? health.reduce((sum, h) => sum + h.cpuPercent, 0) / 100 : null);
    extendPhaseSpans(this.phases, second);
  }

  /** The series so far: its own copy, which later seconds do not change. */
  build(): TimeSeries {
    const errorKinds = [...this.errorColumns.entries()].sort((a, b) => b[1].total - a[1].total).map(([kind]) => kind);
    const columns: Record<string, Column> = {};
    for (const [name, column] of this.columns) {
      columns[name] = column.slice();
      // The error kinds' columns follow `errors`, most frequent first.
      if (name === 'errors') for (const kind of errorKinds) columns[`error:${kind}`] = this.errorColumns.get(kind)!.column.slice();
    }
    // A latency only some runs measure (network targets' same/cross split) is charted only when sampled.
    const charted = this.latencies.filter((kind) => !METRICS.get(kind)?.ifSampled || this.sampled.has(kind));
    return { t: this.t.slice(), bucketSeconds: 1, columns, errorKinds, latencies: charted, phases: this.phases.map((span) => ({ ...span })) };
  }
}

/**
 * Min/max decimation for the charts: the seconds are cut into buckets of equal length, and each
 * bucket is drawn by two points — at its first and its last second — holding each column's lowest
 * and highest value over the bucket, in the order they happened. A one-second spike or dip in
 * any column (an error burst, a latency peak, a drop in users online) keeps its true height,
 * whatever the run's length; only its position moves, by less than one bucket.
 * At most `maxPoints` points (a bucket of one second is one point).
 */
export function downsample(series: TimeSeries, maxPoints: number): TimeSeries {
  const n = series.t.length;
  if (n <= maxPoints) return series;
  const size = Math.ceil(n / Math.max(1, Math.floor(maxPoints / 2)));
  const buckets: Array<{ start: number; end: number }> = [];
  for (let start = 0; start < n; start += size) buckets.push({ start, end: Math.min(n, start + size) });
  const t: number[] = [];
  for (const { start, end } of buckets) {
    t.push(series.t[start]!);
    if (end - start > 1) t.push(series.t[end - 1]!);
  }
  const columns: Record<string, Column> = {};
  for (const [name, values] of Object.entries(series.columns)) {
    const out: Column = [];
    for (const { start, end } of buckets) {
      let low = -1;
      let high = -1;
      for (let i = start; i < end; i++) {
        const v = values[i];
        if (v === null || v === undefined) continue;
        if (low < 0 || v < values[low]!) low = i;
        if (high < 0 || v > values[high]!) high = i;
      }
      const at = (i: number) => (i < 0 ? null : values[i]!);
      if (end - start === 1) out.push(at(low));
      else if (high < low) out.push(at(high), at(low));
      else out.push(at(low), at(high));
    }
    columns[name] = out;
  }
  return { t, bucketSeconds: size * series.bucketSeconds, columns, errorKinds: series.errorKinds, latencies: series.latencies, phases: series.phases };
}

/** True when a column has at least one measured point. */
export function hasData(column: Column | undefined): boolean {
  return column !== undefined && column.some((v) => v !== null);
}
