/**
 * `--out json=FILE`: one JSON object per second (NDJSON), the same points the other outputs
 * export: counters cumulative, gauges as of the second, latencies as cumulative count, sum
 * (seconds) and classic buckets (`le` in seconds → count).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type { JournalHeader, JournalSecond } from '../metrics/journal.js';
import type { Output, OutputContext, OutputStopResult } from './output.js';
import { RunPoints } from './points.js';

export class JsonOutput implements Output {
  readonly description: string;
  private readonly points: RunPoints;
  private sent = 0;
  private failed = 0;
  private error?: string;

  constructor(
    private readonly path: string,
    private readonly context: OutputContext = {},
  ) {
    this.description = `json=${path}`;
    this.points = new RunPoints(undefined, context.labels);
  }

  async start(header: JournalHeader): Promise<void> {
    this.points.start(header);
    // Each line carries its run's labels, so the runs of one `run --repeat` share the file.
    if (!this.context.continuing) writeFileSync(this.path, '');
  }

  addSecond(second: JournalSecond): void {
    const metrics: Array<Record<string, unknown>> = [];
    const runLabels = this.points.labels;
    for (const p of this.points.add(second)) {
      // The run's own labels are on the line once; a metric lists only its own (worker, kind, latency).
      const labels = Object.fromEntries(Object.entries(p.labels).filter(([key]) => !(key in runLabels)));
      const extra = Object.keys(labels).length > 0 ? { labels } : {};
      if (p.kind === 'histogram') metrics.push({ name: p.name, kind: p.kind, ...extra, count: p.histogram.count, sumSeconds: p.histogram.sum, buckets: Object.fromEntries(p.histogram.classicCumulative()) });
      else metrics.push({ name: p.name, kind: p.kind, ...extra, value: p.value });
    }
    try {
      appendFileSync(this.path, `${JSON.stringify({ t: second.t, at: second.at, phase: second.phase, labels: this.points.labels, metrics })}\n`);
      this.sent++;
    } catch (e) {
      this.failed++;
      this.error ??= (e as Error).message;
    }
  }

  async stop(): Promise<OutputStopResult> {
    return { sent: this.sent, failed: this.failed, ...(this.error ? { error: this.error } : {}) };
  }
}
