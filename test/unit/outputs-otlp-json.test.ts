/**
 * `--out otlp=URL` against a scripted OTLP/HTTP receiver (a loopback HTTP server that records
 * each POST), and `--out json=FILE`: each journaled second is one request / one line, with the
 * run's labels, cumulative counters, gauges and exponential histograms that match the HDR data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createOutput } from '../../src/outputs/index.js';
import { RunPoints } from '../../src/outputs/points.js';
import { createHistogram, encodeHistogram, recordMs } from '../../src/metrics/histogram.js';
import type { JournalHeader, JournalSecond } from '../../src/metrics/journal.js';

const HEADER = { type: 'header', runId: 'run-1', scenarioName: 'chat', target: { name: 't', url: 'x://h', protocol: 'p' }, segment: { index: 1, count: 1 }, startEpochMs: 1_796_000_000_000 } as unknown as JournalHeader;

function second(t: number): JournalSecond {
  const h = createHistogram();
  for (let ms = 1; ms <= 10; ms++) recordMs(h, ms * t);
  return {
    type: 'second', t, at: HEADER.startEpochMs + t * 1000, phase: 'hold', online: 5 * t,
    counters: { messagesSent: 4 }, errors: {}, histograms: { delivery: encodeHistogram(h) },
    health: [{ worker: 0, eventLoopP99: 2, eventLoopMax: 3, cpuPercent: 12, rssBytes: 1e8, heapUsedBytes: 5e7, openFds: 30, vus: 5 }],
  };
}

type Attr = { key: string; value: { stringValue: string } };
type Metric = { name: string; gauge?: { dataPoints: Array<{ attributes: Attr[]; asDouble: number }> }; sum?: { aggregationTemporality: number; isMonotonic: boolean; dataPoints: Array<{ asDouble: number; attributes: Attr[] }> }; exponentialHistogram?: { dataPoints: Array<{ attributes: Attr[]; count: string; scale: number; positive: { offset: number; bucketCounts: string[] } }> } };

test('otlp: one ExportMetricsServiceRequest per second to /v1/metrics, cumulative sums, gauges, exponential histograms', async () => {
  const received: Array<{ url: string; type: string; body: { resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Metric[] }> }> } }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ url: req.url!, type: req.headers['content-type']!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(received.length === 2 ? 503 : 200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const output = createOutput(`otlp=http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await output.start(HEADER);
    for (let t = 1; t <= 3; t++) output.addSecond(second(t));
    const result = await output.stop();
    assert.equal(received.length, 3);
    assert.deepEqual(result, { sent: 2, failed: 1, error: 'HTTP 503: {}' });
    const last = received[2]!;
    assert.equal(last.url, '/v1/metrics');
    assert.equal(last.type, 'application/json');
    const metrics = last.body.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    const byName = (name: string) => metrics.find((m) => m.name === name)!;
    assert.equal(byName('imload_users_online').gauge!.dataPoints[0]!.asDouble, 15);
    const labels = Object.fromEntries(byName('imload_users_online').gauge!.dataPoints[0]!.attributes.map((a) => [a.key, a.value.stringValue]));
    assert.deepEqual(labels, { run: 'run-1', scenario: 'chat', protocol: 'p', segment: '1' });
    const sent = byName('imload_messages_sent_total').sum!;
    assert.equal(sent.aggregationTemporality, 2);
    assert.equal(sent.isMonotonic, true);
    assert.equal(sent.dataPoints[0]!.asDouble, 12);
    const delivery = byName('imload_latency_seconds').exponentialHistogram!.dataPoints.find((p) => p.attributes.some((a) => a.key === 'latency' && a.value.stringValue === 'delivery'))!;
    assert.equal(delivery.count, '30');
    assert.equal(delivery.positive.bucketCounts.reduce((n, c) => n + Number(c), 0), 30);
    // OTel bucket offset+k covers (base^(offset+k), base^(offset+k+1)]: 1 ms (the smallest value) is in the first.
    const base = 2 ** (2 ** -delivery.scale);
    assert.ok(0.001 > base ** delivery.positive.offset && 0.001 <= base ** (delivery.positive.offset + 1) * (1 + 1e-9));
    assert.equal(byName('imload_generator_cpu_percent').gauge!.dataPoints[0]!.asDouble, 12);
  } finally {
    server.close();
  }
});

test('json: one object per second with the run labels, cumulative counters and latency buckets', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'imload-json-out-')), 'seconds.ndjson');
  const output = createOutput(`json=${path}`);
  await output.start(HEADER);
  output.addSecond(second(1));
  output.addSecond(second(2));
  assert.deepEqual(await output.stop(), { sent: 2, failed: 0 });
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: number; labels: object; metrics: Array<{ name: string; value?: number; count?: number; labels?: { latency?: string } }> });
  assert.deepEqual(lines.map((l) => l.t), [1, 2]);
  assert.deepEqual(lines[1]!.labels, { run: 'run-1', scenario: 'chat', protocol: 'p', segment: '1' });
  assert.equal(lines[1]!.metrics.find((m) => m.name === 'imload_messages_sent_total')!.value, 8);
  assert.equal(lines[1]!.metrics.find((m) => m.labels?.latency === 'delivery')!.count, 20);
});

test('outputs of one run --repeat: every point labelled with its repeat; a json file holds each repeat in turn', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'imload-json-repeat-')), 'seconds.ndjson');
  for (const repeat of [1, 2]) {
    const output = createOutput(`json=${path}`, { labels: { repeat: String(repeat) }, continuing: repeat > 1 });
    await output.start({ ...HEADER, runId: `run-${repeat}` });
    output.addSecond(second(1));
    output.addSecond(second(2));
    await output.stop();
  }
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: number; labels: { run: string; repeat: string }; metrics: Array<{ name: string; value?: number; labels?: Record<string, string> }> });
  assert.deepEqual(lines.map((l) => [l.labels.repeat, l.labels.run, l.t]), [['1', 'run-1', 1], ['1', 'run-1', 2], ['2', 'run-2', 1], ['2', 'run-2', 2]]);
  // Each repeat counts from zero, and a metric lists only its own labels, not the run's again.
  assert.equal(lines[3]!.metrics.find((m) => m.name === 'imload_messages_sent_total')!.value, 8);
  assert.deepEqual(lines[3]!.metrics.find((m) => m.name === 'imload_generator_vus')!.labels, { worker: '0' });

  // Prometheus and OTLP export the same points: the repeat label is on every one, beside run.
  const points = new RunPoints(undefined, { repeat: '2' });
  points.start({ ...HEADER, runId: 'run-2' });
  assert.ok(points.add(second(1)).every((p) => p.labels.repeat === '2' && p.labels.run === 'run-2'));
});
