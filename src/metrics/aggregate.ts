/**
 * Folds journal seconds into run totals and time series. The live coordinator and
 * `imload report` (rebuilding from a journal) use this same reducer, so both give one answer.
 */
import { COUNTERS, LATENCIES, type CounterName, type GeneratorHealth, type LatencyName } from './names.js';
import type { CounterValues } from './recorder.js';
import { createHistogram, summarize, type Histogram, type LatencySummary } from './histogram.js';
import { intervalPercentiles, type SecondPercentiles } from './interval-percentiles.js';
import type { HostSecond, JournalSecond, RunPhase, ServerSecond } from './journal.js';

export interface SecondPoint {
  readonly t: number;
  readonly phase: RunPhase;
  readonly online: number;
  readonly counters: CounterValues;
  readonly errors: number;
  /** Interval latency percentiles for the charts, by latency name (the engine's and the protocols'); none for an empty interval. */
  readonly latency: SecondPercentiles;
  /** Application kbit/s per online user over this second. */
  readonly kbpsPerUser: number;
  readonly health: readonly GeneratorHealth[];
  readonly host?: HostSecond;
  readonly server?: ServerSecond;
}

/** The live progress line's figures, once a second (the coordinator's `Progress`). */
export interface RunProgress {
  readonly t: number;
  readonly phase: RunPhase;
  readonly online: number;
  readonly requested: number;
  readonly totals: RunAggregate['totals'];
  readonly deliveryP99: number;
}

/** The engine's counters (always present) and any protocol counter the journal holds. */
export type CounterTotals = Record<CounterName, number> & Partial<Record<string, number>>;
/** The engine's latencies (always present) and any protocol latency the journal holds. */
export type LatencyHistograms = Record<LatencyName, Histogram> & Partial<Record<string, Histogram>>;

export class RunAggregate {
  readonly totals: CounterTotals = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as CounterTotals;
  readonly errors: Record<string, number> = {};
  /** Failures imload's own stop caused, by kind: apart from `errors`, never in errors.* thresholds. */
  readonly teardown: Record<string, number> = {};
  readonly histograms: LatencyHistograms = Object.fromEntries(LATENCIES.map((name) => [name, createHistogram()])) as LatencyHistograms;
  /** Every second's point, in order; empty in an aggregate made without it. */
  readonly series: SecondPoint[] = [];
  peakOnline = 0;
  /** Bytes and user-seconds during hold, for the steady-state bandwidth per user. */
  private holdBytes = 0;
  private holdUserSeconds = 0;
  private allBytes = 0;
  private allUserSeconds = 0;
  private readonly healthPeaks = new Map<number, { eventLoopP99: number; cpuPercent: number; rssBytes: number; openFds: number; vus: number }>();
  /**
   * RSS above the workers' pre-logon baselines, per second with users online: the whole run, the
   * hold, and the hold's seconds after every worker's collection at its ramp's end.
   */
  private readonly rssAbove = { hold: new RssAboveBaseline(), run: new RssAboveBaseline(), afterCollection: new RssAboveBaseline() };
  /** Workers that reported their collection at the ramp's end, and its longest pause. */
  private readonly collectedWorkers = new Set<number>();
  private longestCollectionMs = 0;
  /** The workers' summed RSS at its highest second, baselines included: what the generator really used. */
  private peakRssBytes = 0;
  /** The coordinator's RSS at its highest second; 0 when the journal has none (from before it was sampled). */
  private coordinatorPeakRssBytes = 0;
  /** Datagrams dropped on the workers' own UDP sockets, the seconds they were dropped in, and by which workers. */
  private readonly ownUdpDrops = { datagrams: 0, seconds: 0, workers: new Set<number>() };
  /** Per worker, the seconds it sent no health sample (journaled stale): stopped, swapped out, stalled. */
  private readonly silences = new Map<number, SilentWorker>();
  /** Datagrams dropped on the lab server's UDP sockets and the seconds they fell in; sampled: whether the journal had server samples. */
  private readonly serverUdpDrops = { datagrams: 0, seconds: 0, sampled: false };
  private readonly keepSeries: boolean;

  /**
   * `series: false` keeps no per-second points (~950 bytes a second at 20,000 users): the
   * coordinator's whole-run aggregate, which judges thresholds and prints progress from totals
   * and histograms, while the run's series is the journal's (read back for the summary).
   */
  constructor({ series = true }: { readonly series?: boolean } = {}) {
    this.keepSeries = series;
  }

  add(second: JournalSecond): void {
    for (const [name, value] of Object.entries(second.counters)) {
      if (value !== undefined) this.totals[name] = (this.totals[name] ?? 0) + value;
    }
    for (const [kind, value] of Object.entries(second.errors)) this.errors[kind] = (this.errors[kind] ?? 0) + value;
    for (const [kind, value] of Object.entries(second.teardown ?? {})) this.teardown[kind] = (this.teardown[kind] ?? 0) + value;
    // Only what the charts need (a full summary, mean included, costs ~0.5 ms per histogram), remembered for them.
    const latency = intervalPercentiles(second, (name, interval) => (this.histograms[name] ??= createHistogram()).add(interval));
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
    for (const h of second.health) {
      if (!h.rampCollection) continue;
      this.collectedWorkers.add(h.worker);
      this.longestCollectionMs = Math.max(this.longestCollectionMs, h.rampCollection.pauseMs);
    }
    this.peakRssBytes = Math.max(this.peakRssBytes, second.health.reduce((n, h) => n + h.rssBytes, 0));
    this.coordinatorPeakRssBytes = Math.max(this.coordinatorPeakRssBytes, second.host?.coordinatorRssBytes ?? 0);
    // Journals from before the baseline was recorded cannot say what the users cost.
    if (second.online > 0 && second.health.length > 0 && second.health.every((h) => h.baselineRssBytes !== undefined)) {
      const above = second.health.reduce((n, h) => n + h.rssBytes - h.baselineRssBytes!, 0);
      this.rssAbove.run.add(above, second.online, second.health.length);
      if (second.phase === 'hold') {
        this.rssAbove.hold.add(above, second.online, second.health.length);
        if (second.health.every((h) => this.collectedWorkers.has(h.worker))) this.rssAbove.afterCollection.add(above, second.online, second.health.length);
      }
    }
    let dropped = 0;
    for (const h of second.health) {
      if (!h.udpReceiveDrops) continue;
      dropped += h.udpReceiveDrops;
      this.ownUdpDrops.workers.add(h.worker);
    }
    if (dropped > 0) {
      this.ownUdpDrops.datagrams += dropped;
      this.ownUdpDrops.seconds++;
    }
    // Journals from before the server's drops were read have server samples without the field: not measured, not 0.
    if (second.server?.udpReceiveDrops !== undefined) {
      this.serverUdpDrops.sampled = true;
      if (second.server.udpReceiveDrops > 0) {
        this.serverUdpDrops.datagrams += second.server.udpReceiveDrops;
        this.serverUdpDrops.seconds++;
      }
    }
    for (const h of second.health) {
      if (!h.stale) continue;
      const silence = this.silences.get(h.worker);
      this.silences.set(h.worker, { worker: h.worker, seconds: (silence?.seconds ?? 0) + 1, firstT: silence?.firstT ?? second.t, lastT: second.t });
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
    if (this.keepSeries) this.series.push({
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

  /** Summaries already worked out, by latency, with the count they were worked out at. */
  private readonly summaries = new Map<string, LatencySummary>();

  /**
   * A latency's whole-run summary; count 0 for one the journal never recorded. Histograms here
   * only grow, so one whose count has not changed has not changed: its summary is kept (the live
   * page asks for every latency's each second; most stop changing after the ramp).
   */
  latency(name: string): LatencySummary {
    const histogram = this.histograms[name];
    const kept = this.summaries.get(name);
    if (kept && kept.count === (histogram?.totalCount ?? 0)) return kept;
    const summary = summarize(histogram ?? createHistogram());
    this.summaries.set(name, summary);
    return summary;
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

  /**
   * Generator memory the users cost (see RssAboveBaseline): over the hold's seconds after every
   * worker collected its ramp's garbage; over the whole hold when they did not (journals from
   * before the collection); over the whole run without a hold. With the peak of the workers'
   * RSS, baselines included.
   */
  rssPerVu(): RssPerVu {
    const collected = this.rssAbove.afterCollection.seconds > 0;
    const hold = this.rssAbove.hold.seconds > 0;
    const figure = (collected ? this.rssAbove.afterCollection : hold ? this.rssAbove.hold : this.rssAbove.run).perVu(hold ? 'hold' : 'run');
    return {
      ...figure,
      ...(collected ? { rampCollectionPauseMs: this.longestCollectionMs } : {}),
      peakRssBytes: this.peakRssBytes,
      peakRssPerVuBytes: this.peakOnline > 0 && this.peakRssBytes > 0 ? Math.round(this.peakRssBytes / this.peakOnline) : null,
      ...(this.coordinatorPeakRssBytes > 0 ? { coordinatorPeakRssBytes: this.coordinatorPeakRssBytes } : {}),
    };
  }

  /** What the workers' own UDP sockets dropped over the run (GeneratorHealth.udpReceiveDrops). */
  udpReceiveDrops(): UdpReceiveDrops {
    const { datagrams, seconds, workers } = this.ownUdpDrops;
    return { datagrams, seconds, workers: [...workers].sort((a, b) => a - b) };
  }

  /** The workers that sent no health sample in some seconds, with how many and the first and last of them. */
  silentWorkers(): SilentWorker[] {
    return [...this.silences.values()].sort((a, b) => a.worker - b.worker);
  }

  /** What the lab server's UDP sockets dropped over the run; null when the journal has no such samples (not a lab server, or from before they were read). */
  serverUdpReceiveDrops(): { readonly datagrams: number; readonly seconds: number } | null {
    const { datagrams, seconds, sampled } = this.serverUdpDrops;
    return sampled ? { datagrams, seconds } : null;
  }

  /** The whole run's event-loop p99: the worst per-second p99 across workers. */
  eventLoopP99(): number {
    return Math.max(0, ...[...this.healthPeaks.values()].map((p) => p.eventLoopP99));
  }
}

/** A worker that sent no health sample in `seconds` seconds, from t `firstT` to t `lastT` (not necessarily in a row). */
export interface SilentWorker {
  readonly worker: number;
  readonly seconds: number;
  readonly firstT: number;
  readonly lastT: number;
}

export interface UdpReceiveDrops {
  readonly datagrams: number;
  /** Seconds in which any was dropped. */
  readonly seconds: number;
  readonly workers: readonly number[];
}

/** RSS is counted in pages: one page per worker is the finest step the sum can take. */
export const RSS_PAGE_BYTES = 4096;

export interface RssPerVu {
  /** Mean RSS above the workers' pre-logon baselines ÷ mean users online; null below `resolutionBytes` (or nothing sampled). */
  readonly bytes: number | null;
  /** The smallest per-user figure the sampling tells from zero, bytes. */
  readonly resolutionBytes: number;
  readonly seconds: number;
  readonly window: 'hold' | 'run';
  /**
   * Present when the seconds averaged are the hold's after every worker's full collection at its
   * ramp's end: the longest of those collections' pauses, ms.
   */
  readonly rampCollectionPauseMs?: number;
  /** The workers' summed RSS at its highest second, baselines included (0: not sampled). */
  readonly peakRssBytes: number;
  /** `peakRssBytes` ÷ the peak of users online: the generator's whole memory per user at its worst. */
  readonly peakRssPerVuBytes: number | null;
  /** The coordinator process's RSS at its highest second (absent: the journal did not sample it). */
  readonly coordinatorPeakRssBytes?: number;
}

/**
 * RSS above the workers' pre-logon baselines (summed over workers), averaged over seconds and
 * divided by the users online on average (docs/metrics.md § Generator health). One second is
 * not enough: a garbage collection can leave a second below the baseline. The resolution is the
 * larger of one RSS page per worker and twice the standard error of the per-second mean: a
 * figure below it cannot be told from zero.
 */
class RssAboveBaseline {
  seconds = 0;
  private sum = 0;
  private sumSquares = 0;
  private online = 0;
  private workers = 0;

  add(aboveBytes: number, online: number, workers: number): void {
    this.seconds++;
    this.sum += aboveBytes;
    this.sumSquares += aboveBytes * aboveBytes;
    this.online += online;
    this.workers = Math.max(this.workers, workers);
  }

  perVu(window: RssPerVu['window']): Pick<RssPerVu, 'bytes' | 'resolutionBytes' | 'seconds' | 'window'> {
    const n = this.seconds;
    if (n === 0) return { bytes: null, resolutionBytes: 0, seconds: 0, window };
    const mean = this.sum / n;
    const variance = n > 1 ? Math.max(0, (this.sumSquares - n * mean * mean) / (n - 1)) : 0;
    const meanOnline = this.online / n;
    const resolution = Math.max(RSS_PAGE_BYTES * this.workers, 2 * Math.sqrt(variance / n)) / meanOnline;
    const perVu = mean / meanOnline;
    return { bytes: perVu >= resolution ? Math.round(perVu) : null, resolutionBytes: Math.ceil(resolution), seconds: n, window };
  }
}
