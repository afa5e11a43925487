/**
 * A long run's page, read like a person reads it: a synthetic two-hour journal (too many seconds
 * for one point each), its report written as `imload report` writes it and opened in headless
 * Chromium. The headline figures equal summary.json; the page states the charts' resolution; and
 * the peaks survive downsampling — a one-second error burst and the worst second's delivery p99,
 * both taken from the journal itself (not from the report's code), are what the charts draw.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { reportCommand } from '../../src/commands/report.js';
import { decodeHistogram } from '../../src/metrics/histogram.js';
import { readJournal, type JournalSecond } from '../../src/metrics/journal.js';
import { formatMs, formatNumber } from '../../src/report/format.js';
import { MAX_CHART_POINTS } from '../../src/report/report-model.js';
import { chartResolution } from '../../src/report/html.js';
import type { Summary } from '../../src/analysis/summary.js';
import { which } from '../../src/lab/process.js';
import { writeSyntheticJournal } from '../unit/report-synthetic-journal.js';

const SECONDS = 7200;
/** One second with a burst of errors, in the hold, not on a bucket's edge. */
const BURST_AT = 4005;
const BURST = 40;
/** One second whose deliveries are slow: the delivery p99 chart's peak. */
const SLOW_AT = 5003;

let dir = '';
let summary: Summary;
let browser: Browser | undefined;
let page: Page;
const skip = !which('chromium') && !process.env.CI ? 'chromium not installed (imload lab install)' : false;

before(async () => {
  if (skip) return;
  if (!which('chromium')) throw new Error('chromium not found: CI installs it');
  dir = mkdtempSync(join(tmpdir(), 'imload-report-long-'));
  writeSyntheticJournal({
    path: join(dir, 'journal.ndjson'),
    seconds: SECONDS,
    users: 200,
    rampSeconds: 60,
    workers: 2,
    fanOut: 5,
    deliveryMedianMs: (t) => (t === SLOW_AT ? 800 : 3),
    errorsAt: (t): Record<string, number> => (t === BURST_AT ? { 'send-timeout': BURST } : t % 600 === 0 ? { 'send-timeout': 1 } : {}),
  });
  await reportCommand(dir);
  summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 }, colorScheme: 'light' });
  await page.goto(`file://${join(dir, 'index.html')}`);
  await page.waitForFunction(() => [...document.querySelectorAll('canvas')].every((c) => (window as unknown as { Chart: { getChart(c: unknown): unknown } }).Chart.getChart(c)));
}, { timeout: 120_000 });
after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Points = Array<{ x: number; y: number | null }>;
/** What Chart.js holds for a chart's datasets in the page, by label. */
async function drawn(chartId: string): Promise<Record<string, Points>> {
  return page.evaluate((id) => {
    const Chart = (window as unknown as { Chart: { getChart(c: Element): { data: { datasets: Array<{ label: string; data: Points }> } } } }).Chart;
    const chart = Chart.getChart(document.getElementById(id)!);
    return Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.data]));
  }, chartId);
}

const highest = (points: Points) => points.reduce((best, p) => (p.y !== null && (best === null || p.y > best.y!) ? p : best), null as Points[number] | null);

test('a downsampled page: headline figures equal summary.json, and it says the charts\' resolution', { skip }, async () => {
  const s = summary;
  const overview = await page.locator('#overview').innerText();
  assert.ok(overview.includes(`${formatNumber(s.users.peakOnline)} of ${formatNumber(s.users.requested)} users online at peak`), overview);
  assert.equal(await page.locator('#headline-logon').innerText(), `p95 ${formatMs(s.latency.logon.p95)} (${formatNumber(s.latency.logon.count)} samples)`);
  assert.equal(await page.locator('#headline-delivery').innerText(), `p99 ${formatMs(s.latency.delivery.p99)} (${formatNumber(s.latency.delivery.count)} samples)`);
  assert.equal(s.errors.byKind['send-timeout'], BURST + Math.floor(SECONDS / 600), 'summary.json counts every error, the burst whole');

  const bucket = Math.ceil(SECONDS / Math.floor(MAX_CHART_POINTS / 2));
  assert.equal(await page.locator('#chart-resolution').innerText(), chartResolution(bucket));
  assert.match(chartResolution(bucket), new RegExp(`Resolution: ${bucket} s\\b`));
  const online = (await drawn('chart-online')).online!;
  assert.ok(online.length <= MAX_CHART_POINTS && online.length > MAX_CHART_POINTS / 2, `${online.length} points`);
});

test('peaks survive downsampling: a one-second error burst and the slowest second\'s delivery p99 keep their height', { skip }, async () => {
  const bucket = Math.ceil(SECONDS / Math.floor(MAX_CHART_POINTS / 2));
  const errors = highest((await drawn('chart-errors'))['send-timeout']!)!;
  assert.equal(errors.y, BURST, 'the burst at its full height, not averaged over its bucket');
  assert.ok(Math.abs(errors.x - BURST_AT) < bucket, `drawn within one bucket of second ${BURST_AT}: at ${errors.x}`);

  // The worst per-second delivery p99, read from the journal's own histograms.
  const seconds = readJournal(join(dir, 'journal.ndjson')).filter((e): e is JournalSecond => e.type === 'second' && e.histograms.delivery !== undefined);
  const p99s = seconds.map((e) => {
    const h = decodeHistogram(e.histograms.delivery!);
    return { t: e.t, p99: h.totalCount > 0 ? Math.round(h.getValueAtPercentile(99)) / 1000 : 0 };
  });
  const worst = p99s.reduce((a, b) => (b.p99 > a.p99 ? b : a));
  assert.equal(worst.t, SLOW_AT, 'the fixture made this second the slowest');
  const delivery = highest((await drawn('chart-latency-delivery')).p99!)!;
  assert.equal(delivery.y, worst.p99);
  assert.ok(Math.abs(delivery.x - SLOW_AT) < bucket, `drawn within one bucket of second ${SLOW_AT}: at ${delivery.x}`);
});
