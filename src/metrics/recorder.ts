/**
 * Worker-side metrics: counters in a typed array and one interval HDR histogram per latency, so
 * recording on the hot path allocates nothing. Once a second the worker takes a snapshot (deltas
 * since the last one) and ships it to the coordinator, which merges snapshots exactly.
 */
import { COUNTERS, COUNTER_INDEX, LATENCIES, type CounterName, type GeneratorHealth, type LatencyName } from './names.js';
import { createHistogram, encodeHistogram, recordMs, type Histogram } from './histogram.js';

export interface MetricsSnapshot {
  readonly worker: number;
  /** Counter deltas since the previous snapshot, keyed by counter name (zeros omitted). */
  readonly counters: Partial<Record<CounterName, number>>;
  /** Error deltas by kind. */
  readonly errors: Record<string, number>;
  /** Failures imload's own stop caused (connections it closed, operations it cut off), by kind: never server errors. */
  readonly teardown: Record<string, number>;
  /** Interval histograms (encoded), only those with samples. */
  readonly histograms: Partial<Record<LatencyName, string>>;
  /** Users logged on now, in this worker. */
  readonly online: number;
  readonly health?: GeneratorHealth;
}

export class MetricsRecorder {
  private readonly counters = new Float64Array(COUNTERS.length);
  private readonly errors = new Map<string, number>();
  private readonly teardowns = new Map<string, number>();
  private readonly histograms: Record<LatencyName, Histogram>;
  online = 0;

  constructor(private readonly worker: number) {
    this.histograms = Object.fromEntries(LATENCIES.map((name) => [name, createHistogram()])) as Record<LatencyName, Histogram>;
  }

  add(counter: CounterName, amount = 1): void {
    this.counters[COUNTER_INDEX[counter]]! += amount;
  }

  latency(name: LatencyName, ms: number): void {
    recordMs(this.histograms[name], ms);
  }

  error(kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
    this.counters[COUNTER_INDEX.errors]! += 1;
  }

  /** A failure caused by imload stopping the run, kept out of `errors` (docs/metrics.md § teardown). */
  teardown(kind: string): void {
    this.teardowns.set(kind, (this.teardowns.get(kind) ?? 0) + 1);
  }

  snapshot(health?: GeneratorHealth): MetricsSnapshot {
    const counters: Partial<Record<CounterName, number>> = {};
    COUNTERS.forEach((name, i) => {
      if (this.counters[i] !== 0) counters[name] = this.counters[i]!;
    });
    this.counters.fill(0);
    const errors = Object.fromEntries(this.errors);
    this.errors.clear();
    const teardown = Object.fromEntries(this.teardowns);
    this.teardowns.clear();
    const histograms: Partial<Record<LatencyName, string>> = {};
    for (const name of LATENCIES) {
      const histogram = this.histograms[name];
      if (histogram.totalCount > 0) {
        histograms[name] = encodeHistogram(histogram);
        histogram.reset();
      }
    }
    return { worker: this.worker, counters, errors, teardown, histograms, online: this.online, health };
  }
}
