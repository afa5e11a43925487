/**
 * Folds journal seconds into run totals and time series. The live coordinator and
 * `imload report` (rebuilding from a journal) use this same reducer, so both give one answer.
 */
import { COUNTERS, LATENCIES, type CounterName, type GeneratorHealth, type LatencyName } from './names.js';
import { createHistogram, decodeHistogram, summarize, type Histogram, type LatencySummary } from './histogram.js';
import type { HostSecond, JournalSecond, RunPhase, ServerSecond } from './journal.js';

export interface SecondPoint {
  readonly t: number;
  readonly phase: RunPhase;
  readonly online: number;
  readonly counters: Partial<Record<CounterName, number>>;
  readonly errors: number;
  /** Interval latency percentiles for the charts. */
  readonly latency: Partial<Record<LatencyName, { p50: number; p95: number; p99: number; count: number }>>;
  /** Application kbit/s per online user over this second. */
  readonly kbpsPerUser: number;
  readonly health: readonly GeneratorHealth[];
  readonly host?: HostSecond;
  readonly server?: ServerSecond;
}

export class RunAggregate {
  readonly totals: Record<CounterName, number> = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<CounterName, number>;
  readonly errors: Record<string, number> = {};
  /** Failures imload's own stop caused, by kind: apart from `errors`, never in errors.* thresholds. */
  readonly teardown: Record<string, number> = {};
  readonly histograms: Record<LatencyName, Histogram> = Object.fromEntries(
    LATENCIES.map((name) => [name, createHistogram()]),
  ) as Record<LatencyName, Histogram>;
  readonly series: SecondPoint[] = [];
  peakOnline = 0;
  /** Bytes and user-seconds during hold, for the steady-state bandwidth per user. */
  private holdBytes = 0;
  private holdUserSeconds = 0;
  private allBytes = 0;
  private allUserSeconds = 0;
  private readonly healthPeaks = new Map<number, { eventLoopP99: number; cpuPercent: number; rssBytes: number; openFds: number; vus: number }>();
  /** The second with the most VUs: RSS above the workers' baselines there, per VU. */
  private peakVus = 0;
  private peakVuRssAbove = 0;

  add(second: JournalSecond): void {
    for (const [name, value] of Object.entries(second.counters) as [CounterName, number][]) {
      if (name in this.totals) this.totals[name] += value;
    }
    for (const [kind, value] of Object.entries(second.errors)) this.errors[kind] = (this.errors[kind] ?? 0) + value;
    for (const [kind, value] of Object.entries(second.teardown ?? {})) this.teardown[kind] = (this.teardown[kind] ?? 0) + value;
    const latency: SecondPoint['latency'] = {};
    for (const [name, encoded] of Object.entries(second.histograms) as [LatencyName, string][]) {
      const interval = decodeHistogram(encoded);
      this.histograms[name]?.add(interval);
      // Only what the charts need: a full summary (mean included) costs ~0.5 ms per histogram.
      latency[name] = {
        p50: interval.getValueAtPercentile(50) / 1000,
        p95: interval.getValueAtPercentile(95) / 1000,
        p99: interval.getValueAtPercentile(99) / 1000,
        count: interval.totalCount,
      };
    }
    this.peakOnline = Math.max(this.peakOnline, second.online);
    const bytes = (second.counters.bytesIn ?? 0) + (second.counters.bytesOut ?? 0);
    if (second.online > 0) {
      this.allBytes += bytes;
      this.allUserSeconds += second.online;
      if (second.phase === 'hold') {
        this.holdBytes += bytes;
        this.holdUserSeconds += second.online;
      }
    }
    const vus = second.health.reduce((n, h) => n + h.vus, 0);
    if (vus > 0 && vus >= this.peakVus) {
      this.peakVus = vus;
      this.peakVuRssAbove = second.health.reduce((n, h) => n + Math.max(0, h.rssBytes - (h.baselineRssBytes ?? h.rssBytes)), 0);
    }
    for (const h of second.health) {
      const peak = this.healthPeaks.get(h.worker) ?? { eventLoopP99: 0, cpuPercent: 0, rssBytes: 0, openFds: 0, vus: 0 };
      peak.eventLoopP99 = Math.max(peak.eventLoopP99, h.eventLoopP99);
      peak.cpuPercent = Math.max(peak.cpuPercent, h.cpuPercent);
      peak.rssBytes = Math.max(peak.rssBytes, h.rssBytes);
      peak.openFds = Math.max(peak.openFds, h.openFds);
      peak.vus = Math.max(peak.vus, h.vus);
      this.healthPeaks.set(h.worker, peak);
    }
    this.series.push({
      t: second.t,
      phase: second.phase,
      online: second.online,
      counters: second.counters,
      errors: Object.values(second.errors).reduce((a, b) => a + b, 0),
      latency,
      kbpsPerUser: second.online > 0 ? (bytes * 8) / 1000 / second.online : 0,
      health: second.health,
      ...(second.host ? { host: second.host } : {}),
      ...(second.server ? { server: second.server } : {}),
    });
  }

  latency(name: LatencyName): LatencySummary {
    return summarize(this.histograms[name]);
  }

  /** kbit/s per online user: over the hold phase when there was one, else over the whole run. */
  bandwidthPerUser(): { kbps: number; window: 'hold' | 'run' } {
    if (this.holdUserSeconds > 0) return { kbps: (this.holdBytes * 8) / 1000 / this.holdUserSeconds, window: 'hold' };
    return { kbps: this.allUserSeconds > 0 ? (this.allBytes * 8) / 1000 / this.allUserSeconds : 0, window: 'run' };
  }

  /** Per worker: the worst second seen for each health figure. */
  healthPeaksByWorker(): Array<{ worker: number; eventLoopP99: number; cpuPercent: number; rssBytes: number; openFds: number; vus: number }> {
    return [...this.healthPeaks.entries()].sort((a, b) => a[0] - b[0]).map(([worker, peak]) => ({ worker, ...peak }));
  }

  /** Generator memory the users cost: RSS above the workers' baselines at the peak, per VU. */
  rssPerVuBytes(): number {
    return this.peakVus > 0 ? Math.round(this.peakVuRssAbove / this.peakVus) : 0;
  }

  /** The whole run's event-loop p99: the worst per-second p99 across workers. */
  eventLoopP99(): number {
    return Math.max(0, ...[...this.healthPeaks.values()].map((p) => p.eventLoopP99));
  }
}
