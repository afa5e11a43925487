/**
 * What every output exports, one second at a time: the run's state as cumulative points
 * (counters summed since the start, gauges as of the second, latencies as cumulative
 * histograms), named for Prometheus (`imload_…`), labelled run, scenario, protocol, segment
 * (and worker, error kind, latency where they apply). docs/outputs.md lists the names.
 */
import { COUNTERS } from '../metrics/names.js';
import type { JournalHeader, JournalSecond } from '../metrics/journal.js';
import { METRICS } from '../protocols/metric-registry.js';
import { CumulativeLatency, DEFAULT_NATIVE_SCHEMA } from './histograms.js';
import type { Labels } from './remote-write.js';

export type Point =
  | { readonly name: string; readonly kind: 'gauge' | 'counter'; readonly labels: Labels; readonly value: number }
  | { readonly name: string; readonly kind: 'histogram'; readonly labels: Labels; readonly histogram: CumulativeLatency };

/** `deliveriesReceived` → `deliveries_received`. */
export const snake = (name: string): string => name.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

export const LATENCY_METRIC = 'imload_latency_seconds';

export class RunPoints {
  private base: Labels = {};
  private readonly counters = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly teardown = new Map<string, number>();
  private readonly latencies = new Map<string, CumulativeLatency>();
  /** Per worker: datagrams its own UDP sockets dropped so far (GeneratorHealth.udpReceiveDrops). */
  private readonly udpReceiveDrops = new Map<number, number>();
  /** Datagrams the lab server's UDP sockets dropped so far (ServerSecond.udpReceiveDrops). */
  private serverUdpReceiveDrops = 0;
  private peakOnline = 0;

  constructor(
    readonly schema = DEFAULT_NATIVE_SCHEMA,
    /** Labels beside run, scenario, protocol and segment (OutputContext.labels). */
    private readonly extraLabels: Labels = {},
  ) {
    for (const name of COUNTERS) this.counters.set(name, 0);
    for (const m of METRICS.all) if (m.origin === 'protocol' && m.kind === 'counter') this.counters.set(m.name, 0);
    for (const m of METRICS.latencies()) this.latencies.set(m.name, new CumulativeLatency(schema));
  }

  start(header: JournalHeader): void {
    this.base = {
      run: header.runId,
      scenario: header.scenarioName,
      protocol: header.target.protocol,
      segment: String(header.segment.index),
      ...this.extraLabels,
    };
  }

  get labels(): Labels {
    return this.base;
  }

  /** Folds one second in and returns every point as of it. */
  add(second: JournalSecond): Point[] {
    for (const [name, value] of Object.entries(second.counters)) this.counters.set(name, (this.counters.get(name) ?? 0) + (value ?? 0));
    for (const [kind, value] of Object.entries(second.errors)) this.errors.set(kind, (this.errors.get(kind) ?? 0) + value);
    for (const [kind, value] of Object.entries(second.teardown ?? {})) this.teardown.set(kind, (this.teardown.get(kind) ?? 0) + value);
    for (const [name, encoded] of Object.entries(second.histograms)) {
      if (!encoded) continue;
      let latency = this.latencies.get(name);
      if (!latency) this.latencies.set(name, (latency = new CumulativeLatency(this.schema)));
      latency.addEncoded(encoded);
    }
    this.peakOnline = Math.max(this.peakOnline, second.online);

    const b = this.base;
    const points: Point[] = [];
    const gauge = (name: string, value: number, labels: Labels = b) => points.push({ name, kind: 'gauge', labels, value });
    gauge('imload_users_online', second.online);
    gauge('imload_users_peak_online', this.peakOnline);
    gauge('imload_run_elapsed_seconds', second.t);
    for (const [name, value] of this.counters) points.push({ name: `imload_${snake(name)}_total`, kind: 'counter', labels: b, value });
    for (const [kind, value] of this.errors) points.push({ name: 'imload_error_kind_total', kind: 'counter', labels: { ...b, kind }, value });
    for (const [kind, value] of this.teardown) points.push({ name: 'imload_teardown_kind_total', kind: 'counter', labels: { ...b, kind }, value });
    for (const [latency, histogram] of this.latencies) points.push({ name: LATENCY_METRIC, kind: 'histogram', labels: { ...b, latency }, histogram });
    let loopP99 = 0;
    for (const h of second.health) {
      const w = { ...b, worker: String(h.worker) };
      gauge('imload_generator_cpu_percent', h.cpuPercent, w);
      gauge('imload_generator_event_loop_p99_seconds', h.eventLoopP99 / 1000, w);
      gauge('imload_generator_event_loop_max_seconds', h.eventLoopMax / 1000, w);
      gauge('imload_generator_rss_bytes', h.rssBytes, w);
      gauge('imload_generator_heap_used_bytes', h.heapUsedBytes, w);
      gauge('imload_generator_open_fds', h.openFds, w);
      gauge('imload_generator_vus', h.vus, w);
      const dropped = (this.udpReceiveDrops.get(h.worker) ?? 0) + (h.udpReceiveDrops ?? 0);
      this.udpReceiveDrops.set(h.worker, dropped);
      points.push({ name: 'imload_generator_udp_receive_drops_total', kind: 'counter', labels: w, value: dropped });
      loopP99 = Math.max(loopP99, h.eventLoopP99);
    }
    // The registry's gauge generator.eventLoopP99: the worst worker's.
    if (second.health.length > 0) gauge('imload_generator_event_loop_p99_worst_seconds', loopP99 / 1000);
    if (second.host) gauge('imload_host_cpu_percent', second.host.cpuPercent);
    if (second.server) {
      gauge('imload_server_cpu_percent', second.server.cpuPercent);
      gauge('imload_server_rss_bytes', second.server.rssBytes);
      this.serverUdpReceiveDrops += second.server.udpReceiveDrops ?? 0;
      points.push({ name: 'imload_server_udp_receive_drops_total', kind: 'counter', labels: b, value: this.serverUdpReceiveDrops });
    }
    return points;
  }
}
