/**
 * A run in which one worker stopped for six seconds (a swapped-out or paused generator), read as a
 * person reads it: the page's Generator line and the text report name the worker and its silent
 * seconds; the event-loop chart shows the stall as a max of six seconds where the worker resumed,
 * its p99 and CPU lines come from the worker that did sample, and the generator's CPU sum has a gap
 * where one worker was not measured, while its memory stays charted. A synthetic journal (no lab
 * stops a worker on demand), its report written as `imload report` writes it, opened in Chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalSecond } from '../../src/metrics/journal.js';
import { chromiumSkip as skip, syntheticReport, type SyntheticReport } from '../helpers/report-page.js';

const STOP = { worker: 0, from: 120, seconds: 6 };
let report: SyntheticReport | undefined;
let seconds: JournalSecond[] = [];

before(async () => {
  if (skip) return;
  report = await syntheticReport('report-silent', { seconds: 240, users: 20_000, rampSeconds: 60, rampDownSeconds: 60, workers: 2, fanOut: 5, stalledWorker: STOP });
  seconds = readFileSync(join(report.dir, 'journal.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string }).filter((r): r is JournalSecond => r.type === 'second');
}, { timeout: 120_000 });
after(() => report?.close());

/** A chart's datasets as drawn: label and the value at each second. */
function datasets(id: string): Promise<Array<{ label: string; values: Array<{ x: number; y: number | null }> }>> {
  return report!.page.evaluate((canvasId) => {
    const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { datasets: Array<{ label: string; data: Array<{ x: number; y: number | null }> }> } } } }).Chart;
    const chart = Chart.getChart(document.getElementById(canvasId) as HTMLCanvasElement);
    return chart.data.datasets.map((d) => ({ label: d.label, values: d.data.map((p) => ({ x: p.x, y: p.y })) }));
  }, id);
}

const at = (values: Array<{ x: number; y: number | null }>, t: number) => values.find((p) => p.x === t)?.y;
const stopped = Array.from({ length: STOP.seconds }, (_, i) => STOP.from + i);
const resumed = STOP.from + STOP.seconds;

test('the journal is what the coordinator writes for a stopped worker (the fixture)', { skip }, () => {
  for (const t of stopped) assert.equal(seconds.find((s) => s.t === t)!.health.find((h) => h.worker === 0)!.stale, true, `t ${t}`);
  assert.ok(seconds.find((s) => s.t === resumed)!.health.find((h) => h.worker === 0)!.eventLoopMax >= 6000);
});

test('summary.json, the page and the text report name the silent worker and its seconds', { skip }, async () => {
  const { summary, page, printed } = report!;
  assert.deepEqual(summary.generator.silentWorkers, [{ worker: 0, seconds: 6, firstT: 120, lastT: 125 }]);
  const line = 'worker 0 sent no health sample in 6 seconds (t 120–125): stopped or stalled';
  assert.equal((await page.locator('#silent-workers').innerText()).trim(), line);
  assert.ok(await page.locator('#silent-workers').isVisible());
  assert.match(printed, new RegExp(`^generator .*  SILENT: ${line.replace(/[()]/g, '\\$&')}$`, 'm'));
});

test('the event-loop chart shows the stall as its max where the worker resumed; p99 and CPU come from the worker that sampled', { skip }, async () => {
  const loop = await datasets('chart-health-event-loop');
  const max = loop.find((d) => d.label.startsWith('max'))!;
  const p99 = loop.find((d) => d.label.startsWith('event-loop delay p99'))!;
  assert.ok(max && p99, loop.map((d) => d.label).join(', '));
  assert.ok((at(max.values, resumed) ?? 0) >= 6000, `max at t ${resumed}: ${at(max.values, resumed)}`);
  const cpu = (await datasets('chart-health-cpu')).find((d) => d.label === 'CPU')!;
  for (const t of stopped) {
    const other = seconds.find((s) => s.t === t)!.health.find((h) => h.worker === 1)!;
    // The page rounds to 3 decimals.
    assert.ok(Math.abs(at(p99.values, t)! - other.eventLoopP99) < 0.001, `p99 at t ${t} is worker 1's: ${at(p99.values, t)} vs ${other.eventLoopP99}`);
    assert.ok(Math.abs(at(cpu.values, t)! - other.cpuPercent) < 0.001, `CPU at t ${t} is worker 1's: ${at(cpu.values, t)} vs ${other.cpuPercent}`);
  }
});

test("the generator's CPU sum has a gap where a worker was not measured; its memory does not", { skip }, async () => {
  const generator = (await datasets('chart-host-cpu')).find((d) => d.label.startsWith('generator'))!;
  const rss = (await datasets('chart-health-rss'))[0]!;
  for (const t of stopped) {
    assert.equal(at(generator.values, t), null, `generator cores at t ${t}`);
    assert.ok((at(rss.values, t) ?? 0) > 0, `RSS at t ${t}`);
  }
  assert.ok((at(generator.values, STOP.from - 1) ?? 0) > 0);
  assert.ok((at(generator.values, resumed) ?? 0) > 0);
});
