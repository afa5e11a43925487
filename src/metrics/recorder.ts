/**
 * Worker-side metrics: counters in a typed array and one interval HDR histogram per latency, so
 * recording on the hot path allocates nothing. Once a second the worker takes a snapshot (deltas
 * since the last one) and ships it to the coordinator, which merges snapshots exactly.
 */
import { COUNTERS, COUNTER_INDEX, LATENCIES, type CounterName, type GeneratorHealth, type LatencyName } from './names.js';
import { createHistogram, encodeHistogram, recordMs, type Histogram } from './histogram.js';
import type { MetricRegistry } from './registry.js';

/** Counter values by name: the engine's counters and the protocols' (e.g. `retransmissions`). */
export type CounterValues = Partial<Record<string, number>>;
/** Encoded interval histograms by latency name: the engine's and the protocols' (e.g. `register`). */
export type HistogramValues = Partial<Record<string, string>>;

export interface MetricsSnapshot {
  readonly worker: number;
  /** Counter deltas since the previous snapshot, keyed by counter name (zeros omitted). */
  readonly counters: CounterValues;
  /** Error deltas by kind. */
  readonly errors: Record<string, number>;
  /** Failures imload's own stop caused (connections it closed, operations it cut off), by kind: never server errors. */
  readonly teardown: Record<string, number>;
  /** Interval histograms (encoded), only those with samples. */
  readonly histograms: HistogramValues;
  /** Users logged on now, in this worker. */
  readonly online: number;
  readonly health?: GeneratorHealth;
}

/**
 * What protocolMetric does with a registered name: add to counter slot `index`, or record into
 * `histogram`; `retry`: the metric counts transactions a deployment retried elsewhere.
 */
type ProtocolSlot =
  | { readonly index: number; readonly histogram?: undefined; readonly retry: boolean }
  | { readonly index?: undefined; readonly histogram: Histogram; readonly retry?: undefined };

export class MetricsRecorder {
  /** The engine's counters (COUNTER_INDEX), then the protocols' counters in registry order. */
  private readonly counters: Float64Array;
  private readonly counterNames: readonly string[];
  private readonly errors = new Map<string, number>();
  private readonly teardowns = new Map<string, number>();
  private readonly histograms: Map<string, Histogram>;
  private readonly protocolSlots = new Map<string, ProtocolSlot>();
  online = 0;

  /** `registry`: the metrics agents may report through `protocolMetric` (none without it). */
  constructor(
    private readonly worker: number,
    registry?: MetricRegistry,
  ) {
    this.histograms = new Map(LATENCIES.map((name) => [name, createHistogram()]));
    const counterNames: string[] = [...COUNTERS];
    for (const metric of registry?.all ?? []) {
      if (metric.origin !== 'protocol') continue;
      if (metric.kind === 'counter') {
        this.protocolSlots.set(metric.name, { index: counterNames.length, retry: metric.retry === true });
        counterNames.push(metric.name);
      } else if (metric.kind === 'latency') {
        const histogram = createHistogram();
        this.histograms.set(metric.name, histogram);
        this.protocolSlots.set(metric.name, { histogram });
      }
    }
    this.counterNames = counterNames;
    this.counters = new Float64Array(counterNames.length);
  }

  add(counter: CounterName, amount = 1): void {
    this.counters[COUNTER_INDEX[counter]]! += amount;
  }

  latency(name: LatencyName, ms: number): void {
    recordMs(this.histograms.get(name)!, ms);
  }

  /**
   * A sample of a metric a protocol registered (VuEvents.metric): a latency in ms, or a counter's
   * increment. Allocation-free; a name the registry does not hold is the agent's bug and throws.
   * Returns whether the metric counts retried transactions (MetricDeclaration.retry), which the
   * caller records per user.
   */
  protocolMetric(name: string, value: number): boolean {
    const slot = this.protocolSlots.get(name);
    if (slot === undefined) throw new Error(`metric "${name}" is not registered by any protocol descriptor (src/metrics/registry.ts)`);
    if (slot.histogram) recordMs(slot.histogram, value);
    else this.counters[slot.index]! += value;
    return slot.retry === true;
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
    const counters: CounterValues = {};
    this.counterNames.forEach((name, i) => {
      if (this.counters[i] !== 0) counters[name] = this.counters[i]!;
    });
    this.counters.fill(0);
    const errors = Object.fromEntries(this.errors);
    this.errors.clear();
    const teardown = Object.fromEntries(this.teardowns);
    this.teardowns.clear();
    const histograms: HistogramValues = {};
    for (const [name, histogram] of this.histograms) {
      if (histogram.totalCount > 0) {
        histograms[name] = encodeHistogram(histogram);
        histogram.reset();
      }
    }
    return { worker: this.worker, counters, errors, teardown, histograms, online: this.online, health };
  }
}
