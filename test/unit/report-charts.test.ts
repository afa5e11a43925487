/** The report's chart specs: time axis, phase bands, lone samples marked, coinciding series layered; PNGs with bands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { buildChartSpecs, drawPhaseBands, isolatedPointRadii, type ChartPoint } from '../../src/report/chart-specs.js';
import { writeChartPngs } from '../../src/report/png.js';
import { durationText, scenarioText } from '../../src/report/scenario-text.js';
import { chartLatencies, phaseSpans, type TimeSeries } from '../../src/analysis/series.js';
import { METRICS } from '../../src/protocols/metric-registry.js';
import type { JournalSecond } from '../../src/metrics/journal.js';
import { parseScenarioText } from '../../src/scenarios/load.js';

test('markers only on samples with no valued neighbour; a connected series needs none', () => {
  assert.deepEqual(isolatedPointRadii([null, 5, null, 1, 2, null, 7], 2.5), [0, 2.5, 0, 0, 0, 0, 2.5]);
  assert.equal(isolatedPointRadii([1, 2, 3], 2.5), 0);
  assert.equal(isolatedPointRadii([null, null], 2.5), 0);
});

test('phase spans join consecutive seconds of one phase; a gap in the journal starts a new span', () => {
  const seconds = [[1, 'rampUp'], [2, 'hold'], [3, 'hold'], [5, 'hold'], [6, 'rampDown'], [7, 'stopping']].map(([t, phase]) => ({ t, phase }) as JournalSecond);
  assert.deepEqual(phaseSpans(seconds), [
    { phase: 'rampUp', from: 0, to: 1 },
    { phase: 'hold', from: 1, to: 3 },
    { phase: 'hold', from: 4, to: 5 },
    { phase: 'rampDown', from: 5, to: 6 },
    { phase: 'stopping', from: 6, to: 7 },
  ]);
});

/** Seconds 1..6: join latency only in second 2 (p50 = p95 = p99), logons in second 2 only. */
function sparseSeries(): TimeSeries {
  const n = 6;
  const none = () => new Array<number | null>(n).fill(null);
  const lone = (v: number) => none().map((_, i) => (i === 1 ? v : null));
  return {
    t: [1, 2, 3, 4, 5, 6],
    bucketSeconds: 1,
    errorKinds: [],
    latencies: chartLatencies(METRICS),
    phases: [{ phase: 'rampUp', from: 0, to: 1 }, { phase: 'hold', from: 1, to: 5 }, { phase: 'rampDown', from: 5, to: 6 }],
    columns: {
      online: [0, 10, 10, 10, 10, 0],
      target: [10, 10, 10, 10, 10, 0],
      'latency:join:p50': lone(40),
      'latency:join:p95': lone(40),
      'latency:join:p99': lone(40),
      kbpsPerUser: [null, 6, 6, 6, 6, null],
    },
  };
}

test('charts: a linear time axis in seconds, phase bands, lone samples marked, coinciding series drawn wider beneath', () => {
  const { charts } = buildChartSpecs(sparseSeries(), { bandwidthBasis: 'measured wall-clock', timeScale: 60, normalisedKbpsPerUser: 0.05 });
  const join = charts.find((c) => c.id === 'latency-join')!;
  const x = join.config.options!.scales!.x!;
  assert.equal(x.type, 'linear');
  assert.equal((x as { max?: number }).max, 6);
  assert.deepEqual(join.config.options!.plugins!.phaseBands!.bands!.map((b) => [b!.label, b!.from, b!.to]), [['ramp-up', 0, 1], ['hold', 1, 5], ['ramp-down', 5, 6]]);
  const sets = join.config.data.datasets;
  assert.deepEqual(sets[0]!.data[1], { x: 2, y: 40 } satisfies ChartPoint);
  // The lone second carries a marker in every series, each larger than the one drawn above it.
  const radii = sets.map((d) => (d.pointRadius as number[])[1]!);
  assert.ok(radii[0]! > 0 && radii[0]! < radii[1]! && radii[1]! < radii[2]!, `radii ${radii}`);
  const widths = sets.map((d) => d.borderWidth as number);
  assert.ok(widths[0]! < widths[1]! && widths[1]! < widths[2]!, `widths ${widths}`);

  const bandwidth = charts.find((c) => c.id === 'bandwidth')!;
  const labels = bandwidth.config.data.datasets.map((d) => d.label!);
  assert.match(labels[0]!, /wall-clock at timeScale 60, not real time/);
  assert.ok(labels.includes('real time (normalised, whole run): 0.05 kbit/s'), labels.join(' | '));
  const atScaleOne = buildChartSpecs(sparseSeries(), { bandwidthBasis: 'measured wall-clock', timeScale: 1, normalisedKbpsPerUser: null }).charts.find((c) => c.id === 'bandwidth')!;
  assert.ok(!atScaleOne.config.data.datasets.some((d) => /normalised/.test(d.label!)), 'no normalised line at timeScale 1');
});

test('drawPhaseBands is self-contained, so the page can embed its source', () => {
  const rebuilt = new Function(`return (${drawPhaseBands.toString()});`)() as typeof drawPhaseBands;
  assert.equal(typeof rebuilt, 'function');
  assert.doesNotMatch(drawPhaseBands.toString(), /__name|import\(|require\(/);
});

test('the PNG charts render with their phase bands behind the series', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-charts-'));
  const { charts } = buildChartSpecs(sparseSeries(), { bandwidthBasis: 'measured wall-clock', timeScale: 1, normalisedKbpsPerUser: null });
  const files = await writeChartPngs(dir, charts.filter((c) => c.id === 'latency-join'));
  const image = await loadImage(readFileSync(files[0]!));
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  const { data } = ctx.getImageData(0, 0, image.width, image.height);
  // The hold band: rgba(41, 163, 106, 0.08) over the white background.
  const band = [41, 163, 106].map((c) => Math.round(255 + (c - 255) * 0.08));
  let banded = 0;
  for (let i = 0; i < data.length; i += 4) if ([0, 1, 2].every((k) => Math.abs(data[i + k]! - band[k]!) <= 2)) banded++;
  assert.ok(banded > 1000, `hold band pixels: ${banded}`);
});

test('the reproduce box writes durations with units, and the text loads as the same scenario', () => {
  assert.deepEqual([0, 1500, 20_000, 90_000, 120_000, 7_200_000].map(durationText), ['0s', '1500ms', '20s', '90s', '2m', '2h']);
  const file = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667 }
scenarios:
  s:
    target: chat
    population: { users: 10 }
    phases:
      - { phase: rampUp, rate: 5 }
      - { phase: hold, duration: 20s }
      - { phase: rampDown, rate: 5 }
    behaviour: { activityDelay: 1500ms, reconnect: { enabled: true, maxDelay: 2m } }
    thresholds: [ { check: delivery.p99 < 2s, abortOnFail: true, delayAbortEval: 30s } ]
`;
  const parsed = parseScenarioText(file).scenarios.s!;
  const text = scenarioText(parsed);
  for (const line of ['duration: 20s', 'activityDelay: 1500ms', 'maxDelay: 2m', 'delayAbortEval: 30s', 'drain: 3s']) assert.ok(text.includes(line), `${line} in\n${text}`);
  assert.doesNotMatch(text, /duration: 20000/);
  const indented = text.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
  const again = parseScenarioText(`version: 1\ntargets:\n  chat: { url: irc://127.0.0.1:6667 }\nscenarios:\n  s:\n${indented}\n`).scenarios.s!;
  assert.deepEqual(again, parsed);
});
