/**
 * `--out prometheus=URL`: Prometheus remote write (protobuf + snappy) once a second, to a
 * receiver such as Prometheus started with `--web.enable-remote-write-receiver`. Latencies as
 * native histograms with `?native=1` (schema `?schema=N`, default 4; the receiver needs
 * `--enable-feature=native-histograms`), classic `le` buckets otherwise. The query string's
 * own keys are imload's and are not sent to the receiver.
 */
import type { JournalHeader, JournalSecond } from '../metrics/journal.js';
import { NATIVE_ZERO_THRESHOLD, DEFAULT_NATIVE_SCHEMA } from './histograms.js';
import type { Output, OutputStopResult } from './output.js';
import { RunPoints, type Point } from './points.js';
import { encodeWriteRequest, type Labels, type TimeSeries } from './remote-write.js';
import { snappyCompress } from './snappy.js';
import { PostQueue } from './post-queue.js';

export interface PrometheusOptions {
  readonly url: string;
  readonly native: boolean;
  readonly schema: number;
  /** Seconds waiting to be sent beyond which the oldest are dropped (a receiver that is down). */
  readonly maxQueue?: number;
}

/** `http://host:9090/api/v1/write?native=1&schema=3` → the receiver's URL and imload's options. */
export function parsePrometheusTarget(target: string): PrometheusOptions {
  const url = new URL(target);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--out prometheus=${target}: an http(s) URL of a remote-write receiver`);
  const flag = (v: string | null) => v === '1' || v === 'true' || v === 'yes';
  const native = flag(url.searchParams.get('native'));
  const schemaText = url.searchParams.get('schema');
  const schema = schemaText === null ? DEFAULT_NATIVE_SCHEMA : Number(schemaText);
  if (!Number.isInteger(schema) || schema < -4 || schema > 8) throw new Error(`--out prometheus: schema must be an integer from -4 to 8, not ${schemaText}`);
  url.searchParams.delete('native');
  url.searchParams.delete('schema');
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/api/v1/write';
  return { url: url.toString(), native, schema };
}

export function toTimeSeries(points: readonly Point[], timestamp: number, native: boolean): TimeSeries[] {
  const series: TimeSeries[] = [];
  for (const p of points) {
    if (p.kind !== 'histogram') {
      series.push({ labels: { __name__: p.name, ...p.labels }, samples: [{ value: p.value, timestamp }] });
      continue;
    }
    const h = p.histogram;
    if (native) {
      const { spans, deltas } = h.nativeSpans();
      series.push({
        labels: { __name__: p.name, ...p.labels },
        histograms: [{ count: h.count, sum: h.sum, schema: h.schema, zeroThreshold: NATIVE_ZERO_THRESHOLD, zeroCount: h.zeroCount, positiveSpans: spans, positiveDeltas: deltas, timestamp }],
      });
    } else {
      for (const [le, count] of h.classicCumulative()) series.push({ labels: { __name__: `${p.name}_bucket`, ...p.labels, le }, samples: [{ value: count, timestamp }] });
      series.push({ labels: { __name__: `${p.name}_sum`, ...p.labels }, samples: [{ value: h.sum, timestamp }] });
      series.push({ labels: { __name__: `${p.name}_count`, ...p.labels }, samples: [{ value: h.count, timestamp }] });
    }
  }
  return series;
}

export class PrometheusOutput implements Output {
  readonly description: string;
  private readonly points: RunPoints;
  private readonly queue: PostQueue;

  constructor(
    private readonly options: PrometheusOptions,
    labels?: Labels,
  ) {
    this.description = `prometheus=${options.url}${options.native ? ` (native histograms, schema ${options.schema})` : ''}`;
    this.points = new RunPoints(options.schema, labels);
    this.queue = new PostQueue(
      new URL(options.url),
      { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0', 'User-Agent': 'imload' },
      options.maxQueue,
    );
  }

  async start(header: JournalHeader): Promise<void> {
    this.points.start(header);
  }

  addSecond(second: JournalSecond): void {
    this.queue.push(snappyCompress(encodeWriteRequest(toTimeSeries(this.points.add(second), second.at, this.options.native))));
  }

  stop(): Promise<OutputStopResult> {
    return this.queue.stop();
  }
}
