/**
 * `--out otlp=URL`: OpenTelemetry metrics over HTTP with the JSON encoding
 * (ExportMetricsServiceRequest POSTed to `…/v1/metrics`), once a second. Counters are
 * cumulative monotonic sums, gauges gauges, latencies exponential histograms (OTel `scale` =
 * the Prometheus schema; OTel's bucket i is Prometheus's i+1). Encoded by hand: docs/decisions.md.
 */
import type { JournalHeader, JournalSecond } from '../metrics/journal.js';
import { IMLOAD_VERSION } from '../version.js';
import type { Output, OutputStopResult } from './output.js';
import { RunPoints, type Point } from './points.js';
import { PostQueue } from './post-queue.js';

type Attribute = { key: string; value: { stringValue: string } };
const attributes = (labels: Readonly<Record<string, string>>): Attribute[] => Object.entries(labels).map(([key, v]) => ({ key, value: { stringValue: v } }));
const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

export function otlpRequest(points: readonly Point[], atMs: number, startMs: number): unknown {
  const byName = new Map<string, { name: string; points: Point[] }>();
  for (const p of points) {
    const entry = byName.get(p.name) ?? { name: p.name, points: [] };
    entry.points.push(p);
    byName.set(p.name, entry);
  }
  const time = { startTimeUnixNano: nanos(startMs), timeUnixNano: nanos(atMs) };
  const metrics = [...byName.values()].map(({ name, points: group }) => {
    const first = group[0]!;
    if (first.kind === 'gauge') {
      return { name, gauge: { dataPoints: group.map((p) => ({ attributes: attributes(p.labels), timeUnixNano: time.timeUnixNano, asDouble: (p as { value: number }).value })) } };
    }
    if (first.kind === 'counter') {
      return { name, sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: group.map((p) => ({ attributes: attributes(p.labels), ...time, asDouble: (p as { value: number }).value })) } };
    }
    return {
      name,
      unit: 's',
      exponentialHistogram: {
        aggregationTemporality: 2,
        dataPoints: group.map((p) => {
          const h = (p as Extract<Point, { kind: 'histogram' }>).histogram;
          const indexes = [...h.native.keys()].sort((a, b) => a - b);
          const low = indexes[0] ?? 1;
          const high = indexes.at(-1) ?? 0;
          const bucketCounts: string[] = [];
          for (let i = low; i <= high; i++) bucketCounts.push(String(h.native.get(i) ?? 0));
          return { attributes: attributes(p.labels), ...time, count: String(h.count), sum: h.sum, scale: h.schema, zeroCount: String(h.zeroCount), positive: { offset: low - 1, bucketCounts } };
        }),
      },
    };
  });
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'imload' } }, { key: 'service.version', value: { stringValue: IMLOAD_VERSION } }] },
        scopeMetrics: [{ scope: { name: 'imload', version: IMLOAD_VERSION }, metrics }],
      },
    ],
  };
}

export class OtlpOutput implements Output {
  readonly description: string;
  private readonly url: string;
  private readonly points: RunPoints;
  private readonly queue: PostQueue;
  private startMs = 0;

  constructor(target: string, labels?: Readonly<Record<string, string>>) {
    this.points = new RunPoints(undefined, labels);
    const url = new URL(target);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--out otlp=${target}: an http(s) URL of an OTLP/HTTP receiver`);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/metrics';
    this.url = url.toString();
    this.description = `otlp=${this.url}`;
    this.queue = new PostQueue(url, { 'Content-Type': 'application/json' });
  }

  async start(header: JournalHeader): Promise<void> {
    this.points.start(header);
    this.startMs = header.startEpochMs;
  }

  addSecond(second: JournalSecond): void {
    this.queue.push(JSON.stringify(otlpRequest(this.points.add(second), second.at, this.startMs)));
  }

  stop(): Promise<OutputStopResult> {
    return this.queue.stop();
  }
}
