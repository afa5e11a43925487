/**
 * The Prometheus output's encoders: snappy (round trip, copies used on repetitive input),
 * the remote-write protobuf (round trip of samples and native histograms), and the mapping of
 * HDR values to native buckets (bucket bounds, spans and deltas) and classic buckets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { snappyCompress, snappyDecompress } from '../../src/outputs/snappy.js';
import { decodeWriteRequest, encodeWriteRequest, type TimeSeries } from '../../src/outputs/remote-write.js';
import { CLASSIC_BOUNDS_SECONDS, CumulativeLatency, NATIVE_ZERO_THRESHOLD, nativeIndex, nativeResolution } from '../../src/outputs/histograms.js';
import { createHistogram, decodeHistogram, encodeHistogram, recordMs, type Histogram } from '../../src/metrics/histogram.js';
import { toTimeSeries, parsePrometheusTarget } from '../../src/outputs/prometheus.js';
import { createOutput, OutputSpecError } from '../../src/outputs/index.js';
import { RunPoints, snake } from '../../src/outputs/points.js';

test('snappy: round trip of empty, short, long, random and repetitive input; repetitive input shrinks', () => {
  const random = new Uint8Array(70_000).map((_, i) => (i * 2654435761) >>> 24);
  const repetitive = new TextEncoder().encode('imload_users_online{run="r",scenario="s"} '.repeat(2000));
  for (const input of [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(61).fill(7), random, repetitive]) {
    const compressed = snappyCompress(input);
    assert.deepEqual(snappyDecompress(compressed), input);
  }
  assert.ok(snappyCompress(repetitive).length < repetitive.length / 10, 'copies are used');
});

test('remote write: samples and native histograms survive encode → decode, labels sorted', () => {
  const series: TimeSeries[] = [
    { labels: { __name__: 'imload_users_online', run: 'r1', segment: '1' }, samples: [{ value: 42.5, timestamp: 1_796_000_000_123 }] },
    {
      labels: { __name__: 'imload_latency_seconds', latency: 'delivery' },
      histograms: [{ count: 7, sum: 0.25, schema: -2, zeroThreshold: 1e-9, zeroCount: 1, positiveSpans: [{ offset: -3, length: 2 }, { offset: 4, length: 1 }], positiveDeltas: [2, 1, -2], timestamp: 1_796_000_001_000 }],
    },
  ];
  const decoded = decodeWriteRequest(snappyDecompress(snappyCompress(encodeWriteRequest(series))));
  assert.deepEqual(decoded, series);
  // Remote write requires labels sorted by name.
  const bytes = new TextDecoder().decode(encodeWriteRequest([{ labels: { z: '1', __name__: 'm', a: '2' }, samples: [] }]));
  assert.ok(bytes.indexOf('__name__') < bytes.indexOf('a') && bytes.indexOf('\u0001a') < bytes.indexOf('\u0001z'));
});

test('native buckets: index i holds (2^((i-1)/2^s), 2^(i/2^s)], exact at powers of two', () => {
  for (const schema of [0, 3, 4, 8]) {
    for (const value of [1e-6, 0.001, 0.0123, 0.5, 1, 2, 3.7, 1000]) {
      const i = nativeIndex(value, schema);
      const upper = 2 ** (i / 2 ** schema);
      const lower = 2 ** ((i - 1) / 2 ** schema);
      assert.ok(value > lower && value <= upper * (1 + 1e-12), `schema ${schema} value ${value}: index ${i} (${lower}, ${upper}]`);
    }
  }
  assert.equal(nativeIndex(1, 0), 0);
  assert.equal(nativeIndex(2, 0), 1);
  assert.equal(nativeIndex(4, 2), 8);
  assert.ok(Math.abs(nativeResolution(4) - 0.0443) < 0.0001);
});

test('an HDR histogram as native spans/deltas and classic buckets: counts, sum and the p99 bucket', () => {
  const h = createHistogram();
  for (let ms = 1; ms <= 1000; ms++) recordMs(h, ms);
  recordMs(h, 0);
  const latency = new CumulativeLatency(4);
  latency.addEncoded(encodeHistogram(h));
  latency.addEncoded(encodeHistogram(h));
  assert.equal(latency.count, 2002);
  assert.equal(latency.zeroCount, 2);
  assert.ok(Math.abs(latency.sum - 2 * 500.5) < 2 * 500.5 * 0.001, `sum ${latency.sum} s`);
  const { spans, deltas } = latency.nativeSpans();
  assert.equal(deltas.length, spans.reduce((n, s) => n + s.length, 0));
  // Rebuild absolute buckets from spans and deltas: they are the map.
  const rebuilt = new Map<number, number>();
  let index = 0;
  let count = 0;
  let d = 0;
  for (const [k, span] of spans.entries()) {
    index += k === 0 ? span.offset : span.offset + 1;
    for (let j = 0; j < span.length; j++, index++) {
      count += deltas[d++]!;
      if (count > 0) rebuilt.set(index, count);
    }
    index--;
  }
  assert.deepEqual(new Map([...rebuilt].sort((a, b) => a[0] - b[0])), new Map([...latency.native].sort((a, b) => a[0] - b[0])));
  const classic = latency.classicCumulative();
  assert.deepEqual(classic.at(-1), ['+Inf', 2002]);
  assert.deepEqual(classic.find(([le]) => le === '0.1'), ['0.1', 2 + 200]);
  assert.deepEqual(classic.find(([le]) => le === '1'), ['1', 2002]);
});

test('points: counters cumulative from zero, every registry latency present, labels run/scenario/protocol/segment', () => {
  const points = new RunPoints();
  points.start({ runId: 'r', scenarioName: 's', target: { name: 't', url: 'x://', protocol: 'p' }, segment: { index: 2, count: 3 } } as never);
  const second = (t: number) => ({ type: 'second', t, at: 1000 * t, phase: 'hold', online: t, counters: { deliveriesReceived: 3 }, errors: { timeout: 1 }, histograms: {}, health: [] }) as never;
  points.add(second(1));
  const now = points.add(second(2));
  const find = (name: string) => now.find((p) => p.name === name);
  assert.deepEqual(find('imload_deliveries_received_total'), { name: 'imload_deliveries_received_total', kind: 'counter', labels: { run: 'r', scenario: 's', protocol: 'p', segment: '2' }, value: 6 });
  assert.equal((find('imload_bytes_in_total') as { value: number }).value, 0);
  assert.equal((now.find((p) => p.name === 'imload_error_kind_total' && p.labels.kind === 'timeout') as { value: number }).value, 2);
  assert.ok(now.some((p) => p.kind === 'histogram' && p.labels.latency === 'delivery'));
  assert.equal(snake('users.peakOnline'), 'users_peak_online');
  const series = toTimeSeries(now, 2000, false);
  assert.ok(series.some((s) => s.labels.__name__ === 'imload_latency_seconds_bucket' && s.labels.le === '+Inf'));
  assert.ok(toTimeSeries(now, 2000, true).some((s) => s.labels.__name__ === 'imload_latency_seconds' && s.histograms?.length === 1));
});

test('--out specs: prometheus options stay imload’s, unknown kinds and missing targets are refused', () => {
  assert.deepEqual(parsePrometheusTarget('http://127.0.0.1:9090?native=1&schema=3'), { url: 'http://127.0.0.1:9090/api/v1/write', native: true, schema: 3 });
  assert.deepEqual(parsePrometheusTarget('http://h/api/v1/write?x=1'), { url: 'http://h/api/v1/write?x=1', native: false, schema: 4 });
  assert.throws(() => parsePrometheusTarget('http://h/?native=1&schema=9'), /schema/);
  assert.throws(() => createOutput('influx=http://h'), OutputSpecError);
  assert.throws(() => createOutput('prometheus='), /kind=target/);
  assert.throws(() => createOutput('otlp=ftp://h'), /OTLP/);
  assert.equal(createOutput('json=/tmp/x.ndjson').description, 'json=/tmp/x.ndjson');
});

test('CumulativeLatency: its walk of the counts (with buckets remembered per index) equals the library’s recorded values, one by one', () => {
  /** The plain way: every recorded value through hdr-histogram-js's iterator, a log2 each. */
  function reference(parts: Histogram[], schema: number) {
    const out = { count: 0, sum: 0, zeroCount: 0, native: new Map<number, number>(), classic: new Array<number>(CLASSIC_BOUNDS_SECONDS.length + 1).fill(0) };
    for (const part of parts) {
      const h = part as unknown as { recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): { valueIteratedTo: number; countAtValueIteratedTo: number } }; lowestEquivalentValue(v: number): number; medianEquivalentValue(v: number): number };
      const it = h.recordedValuesIterator;
      it.reset();
      while (it.hasNext()) {
        const v = it.next();
        const seconds = h.lowestEquivalentValue(v.valueIteratedTo) / 1e6;
        const count = v.countAtValueIteratedTo;
        out.count += count;
        out.sum += (h.medianEquivalentValue(v.valueIteratedTo) / 1e6) * count;
        if (seconds <= NATIVE_ZERO_THRESHOLD) out.zeroCount += count;
        else out.native.set(nativeIndex(seconds, schema), (out.native.get(nativeIndex(seconds, schema)) ?? 0) + count);
        const b = CLASSIC_BOUNDS_SECONDS.findIndex((bound) => seconds <= bound);
        out.classic[b < 0 ? CLASSIC_BOUNDS_SECONDS.length : b]! += count;
      }
    }
    return out;
  }
  const us = fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 60_000_000 }), fc.constantFrom(0, 1000, 2047, 2048, 100_000, 1_000_000));
  fc.assert(
    fc.property(fc.constantFrom(0, 3, 4, 8), fc.array(fc.array(fc.tuple(us, fc.integer({ min: 1, max: 20 })), { maxLength: 150 }), { minLength: 1, maxLength: 3 }), (schema, seconds) => {
      const parts = seconds.map((values) => {
        const h = createHistogram();
        for (const [value, times] of values) h.recordValueWithCount(value, times);
        return decodeHistogram(encodeHistogram(h));
      });
      const latency = new CumulativeLatency(schema);
      for (const part of parts) latency.add(part);
      const expected = reference(parts, schema);
      assert.deepEqual({ count: latency.count, sum: latency.sum, zeroCount: latency.zeroCount, native: new Map([...latency.native].sort((a, b) => a[0] - b[0])), classic: latency.classic }, { ...expected, native: new Map([...expected.native].sort((a, b) => a[0] - b[0])) });
    }),
    { numRuns: 200, seed: 20 },
  );
});
