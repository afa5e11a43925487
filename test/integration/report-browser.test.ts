/**
 * "Read it like a person": a real short chat run on InspIRCd (logons and joins all in one second,
 * IMs and channel messages over a 60× compressed hold), its index.html opened in headless
 * Chromium, and what the page shows checked against what the run measured:
 * - the headline figures in the page's visible text equal summary.json as the report formats them;
 * - every chart series with data left pixels of its colour inside the chart's plotting area
 *   (a lone second of data drawn as a line without markers leaves none: a late joiner makes one);
 * - the sizing table's numbers equal `imload plan`'s for the same population, site and run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImage, createCanvas } from '@napi-rs/canvas';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runCommand } from '../../src/commands/run.js';
import { formatMetricValue, formatMs, formatNumber, verdictLabel } from '../../src/report/format.js';
import { describeRssPerVu } from '../../src/analysis/generator.js';
import type { Summary } from '../../src/analysis/summary.js';
import { which } from '../../src/lab/process.js';
import { writeScenario } from '../helpers/scenario.js';

const SCENARIO = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
profiles:
  chat-and-bandwidth:
    title: Exchange 2000 Chat users and LCS 2005 bandwidth per user (report test)
    protocol: irc
    figures:
      - { id: users-per-chat-server, metric: users.peakOnline, kind: atLeast, value: 20000, unit: concurrent users, source: Exchange 2000 Resource Kit, wording: "up to 20,000 concurrent users" }
      - { id: bandwidth-per-user, metric: bandwidth.kbpsPerUser, kind: atMost, value: 1.6, unit: kbit/s per user, source: LCS 2005, wording: 1.6 kbit/s per user over eight hours }
scenarios:
  person:
    description: 60 chat users, all logged on in one second, IMs and channels over a compressed hold
    target: chat
    limits: chat-and-bandwidth
    seed: 11
    timeScale: 60
    population:
      users: 60
      contacts: 10
      channels: { count: 4, perUser: { min: 1, max: 2 } }
      # One user joins a channel of its own long after everyone else: a join-latency series
      # with a lone second, which a line without markers would not show at all.
      groups:
        - name: late-joiner
          users: 1
          flow:
            - { do: logon }
            - { do: think, for: 10s }
            - { do: join, channel: '#late' }
    phases:
      - { phase: rampUp, rate: 60 }
      - { phase: hold, duration: 16s }
      - { phase: rampDown, rate: 60 }
    behaviour:
      messagesPerHour: 6
      channelMessagesPerHour: 4
    # Loose on purpose: this run tests what the page shows, not the server's speed.
    thresholds:
      - logon.p95 < 10s
      - delivery.p99 < 5s
      - messages.lost == 0
`;

/** The sizing inputs the report's table starts with (report-model.ts). */
const PLAN_ARGS = ['--users', '100000', '--peak-online', '1', '--site', 'branch=100@56'];
/** Device pixels per CSS pixel in the browser (screenshots are in device pixels, chartArea in CSS). */
const SCALE = 2;

let runDir = '';
let summary: Summary;
let browser: Browser | undefined;
let page: Page;
const missing = ['inspircd', 'chromium'].filter((b) => !which(b));
const skip = missing.length > 0 && !process.env.CI ? `${missing.join(', ')} not installed (imload lab install)` : false;

before(async () => {
  if (skip) return;
  if (missing.length > 0) throw new Error(`${missing.join(', ')} not found: CI installs them`);
  const { file, dir } = writeScenario(SCENARIO);
  runDir = join(dir, 'run');
  const { exitCode } = await runCommand({ file, scenario: 'person', lab: true, quiet: true, out: runDir, signal: new AbortController().signal });
  assert.equal(exitCode, 0, 'the lab run passed its thresholds');
  summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as Summary;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  // Two device pixels per CSS pixel, as on most laptops: a series' 1 px rim around the one drawn
  // above it then always holds whole pixels of its own colour, wherever it falls.
  page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: SCALE, colorScheme: 'light' });
  await page.goto(`file://${join(runDir, 'index.html')}`);
  await page.waitForFunction(() => [...document.querySelectorAll('canvas')].every((c) => (window as unknown as { Chart: { getChart(c: unknown): unknown } }).Chart.getChart(c)));
}, { timeout: 180_000 });
after(async () => browser?.close());

const visible = (selector: string) => page.locator(selector).innerText();

test('the headline figures a person reads equal summary.json', { skip }, async () => {
  const s = summary;
  assert.ok(s.users.peakOnline > 0 && s.latency.logon.count > 0 && s.latency.delivery.count > 0, 'the run measured what the page shows');
  assert.ok(s.timeScale > 1 && s.bandwidth.normalised, 'a compressed run with a normalised bandwidth');
  const overview = await visible('#overview');
  assert.ok(overview.includes(`${formatNumber(s.users.peakOnline)} of ${formatNumber(s.users.requested)} users online at peak`), overview);
  assert.equal(await visible('#headline-logon'), `p95 ${formatMs(s.latency.logon.p95)} (${formatNumber(s.latency.logon.count)} samples)`);
  assert.equal(await visible('#headline-delivery'), `p99 ${formatMs(s.latency.delivery.p99)} (${formatNumber(s.latency.delivery.count)} samples)`);

  // Bandwidth per user: the real-time figure first; the wall-clock figure only with its label.
  const bandwidth = await visible('#headline-bandwidth');
  const realTime = formatNumber(s.bandwidth.normalised!.kbpsPerUser, 4);
  const wallClock = formatNumber(s.bandwidth.kbpsPerUser, 4);
  assert.ok(bandwidth.startsWith(`${realTime} kbit/s real time, normalised from timeScale ${s.timeScale}`), bandwidth);
  for (const text of [overview, await visible('#figures')]) {
    for (const at of [...text.matchAll(new RegExp(`${wallClock.replace('.', '\\.')} kbit/s`, 'g'))]) {
      assert.match(text.slice(at.index), /^\S+ kbit\/s wall-clock/, `the wall-clock figure is labelled: ${text}`);
    }
  }

  const verdictRows = await page.locator('#verdicts tbody tr').allInnerTexts();
  const verdicts = s.limits!.verdicts;
  assert.equal(verdictRows.length, verdicts.length);
  verdicts.forEach((v, i) => {
    const row = verdictRows[i]!;
    assert.ok(row.includes(v.id) && row.includes(verdictLabel(v)), row);
    assert.ok(row.includes(`${v.kind === 'atLeast' ? '≥' : '≤'} ${formatNumber(v.value)} ${v.unit}`), row);
    assert.ok(row.includes(formatMetricValue(v.metric, v.measured)), `${row} shows ${v.measured}`);
    assert.doesNotMatch(row, /\b\d{5,}\b/, `numbers grouped one way: ${row}`);
  });
  const bandwidthVerdict = verdicts.find((v) => v.metric === 'bandwidth.kbpsPerUser')!;
  // The verdict keeps full precision, summary.json's bandwidth four decimals.
  assert.ok(Math.abs(bandwidthVerdict.measured! - s.bandwidth.normalised!.kbpsPerUser) <= 0.00005, 'the verdict judged the real-time figure');
  assert.match(verdictRows[verdicts.indexOf(bandwidthVerdict)]!, /real time, normalised from timeScale 60/);

  const thresholdRows = await page.locator('#thresholds tbody tr').allInnerTexts();
  assert.equal(thresholdRows.length, s.thresholds.length);
  s.thresholds.forEach((t, i) => {
    const cells = thresholdRows[i]!.split('\t');
    assert.deepEqual(cells.slice(0, 3), [t.name, formatMetricValue(t.metric, t.actual), t.ok ? 'passed' : 'failed']);
  });
  assert.match(overview, new RegExp(`all ${s.thresholds.length} thresholds passed`));

  // The reproduce box shows durations as written, not in milliseconds.
  const reproduce = await visible('#reproduce');
  assert.match(reproduce, /duration: 16s/);
  assert.doesNotMatch(reproduce, /duration: 16000/);

  // Generator memory: the hold's figure after the workers' collection at the ramp's end, said so, with the peak beside it.
  const generatorRow = await page.locator('#figures tr', { hasText: 'Generator' }).innerText();
  assert.ok(s.generator.rssPerVu.rampCollectionPauseMs !== undefined && s.generator.rssPerVu.peakRssBytes > 0, JSON.stringify(s.generator.rssPerVu));
  assert.ok(generatorRow.includes(describeRssPerVu(s.generator)), generatorRow);
  assert.match(generatorRow, /after a full GC at the ramp's end \(\d+ ms pause\); workers' RSS peaked at \d+ MiB \(\d+\.\d KiB per VU all-in\)/);
});

interface ChartGeometry {
  readonly id: string;
  readonly area: { left: number; top: number; right: number; bottom: number };
  /** Per dataset: points with a value, and those of them with no valued neighbour. */
  readonly series: ReadonlyArray<{ label: string; colour: string; points: number; lonePoints: number }>;
}

/** Counts the pixels of `colour` (#rrggbb, each channel within `tolerance`) in a PNG's region. */
async function countColour(png: Buffer, region: { x: number; y: number; width: number; height: number }, colour: string, tolerance = 16): Promise<number> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  const { data } = ctx.getImageData(region.x, region.y, region.width, region.height);
  const want = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i]! - want[0]!) <= tolerance && Math.abs(data[i + 1]! - want[1]!) <= tolerance && Math.abs(data[i + 2]! - want[2]!) <= tolerance) count++;
  }
  return count;
}

test('every chart series with data shows its colour inside the plotting area', { skip }, async () => {
  const charts: ChartGeometry[] = await page.evaluate(() => {
    type Dataset = { label: string; borderColor: string; data: Array<{ y: number | null }> };
    const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { chartArea: ChartGeometry['area']; data: { datasets: Dataset[] } } } }).Chart;
    return [...document.querySelectorAll('canvas')].map((canvas) => {
      const chart = Chart.getChart(canvas);
      const { left, top, right, bottom } = chart.chartArea;
      return {
        id: canvas.id,
        area: { left, top, right, bottom },
        // No named inner functions here: tsx would wrap them in a helper the page does not have.
        series: chart.data.datasets.map((d) => {
          const valued = d.data.map((p) => p.y !== null);
          return {
            label: d.label,
            colour: d.borderColor,
            points: valued.filter(Boolean).length,
            lonePoints: valued.filter((v, i) => v && !valued[i - 1] && !valued[i + 1]).length,
          };
        }),
      };
    });
  });
  const ids = charts.map((c) => c.id);
  for (const id of ['chart-online', 'chart-logons', 'chart-messages', 'chart-latency-logon', 'chart-latency-join', 'chart-latency-delivery', 'chart-bandwidth']) assert.ok(ids.includes(id), `${id} drawn`);
  // The point of this run: the late joiner's second has no valued neighbour in the join series.
  const joins = charts.find((c) => c.id === 'chart-latency-join')!;
  assert.ok(joins.series.every((s) => s.lonePoints > 0), `the join series have a lone point: ${JSON.stringify(joins.series)}`);

  const blank: string[] = [];
  for (const chart of charts) {
    const png = await page.locator(`#${chart.id}`).screenshot();
    // The plotting area only (legend, title and axis labels lie outside it); the row holding the
    // bottom edge is included, where a series of zeros is drawn.
    const region = {
      x: Math.ceil(chart.area.left * SCALE),
      y: Math.ceil(chart.area.top * SCALE),
      width: Math.floor(chart.area.right * SCALE) - Math.ceil(chart.area.left * SCALE),
      height: Math.ceil(chart.area.bottom * SCALE) - Math.ceil(chart.area.top * SCALE) + 1,
    };
    for (const series of chart.series.filter((s) => s.points > 0)) {
      const pixels = await countColour(png, region, series.colour);
      if (pixels < 3) blank.push(`${chart.id} / ${series.label} (${series.colour}): ${pixels} pixels`);
    }
  }
  assert.deepEqual(blank, [], 'series with data that left no pixels of their colour');
});

/** A number as the page prints it ("1,667", "3.63 Mbit/s", "6 %"). */
const numberIn = (text: string) => Number(/-?[\d,]+(?:\.\d+)?/.exec(text)![0].replaceAll(',', ''));

test('the sizing table equals imload plan for the same population and site; a run that measured no capacity sizes nothing in either', { skip }, async () => {
  const plan = (extra: string[]) =>
    JSON.parse(execFileSync(process.execPath, ['bin/imload.js', 'plan', ...PLAN_ARGS, ...extra, '--json'], { encoding: 'utf8' })) as {
      peakOnline: number;
      servers: Array<{ role: string; servers: number; perServer: number }>;
      kbpsPerUser: { value: number };
      totalKbps: number;
      sites: Array<{ kbps: number; linkUse: number }>;
    };
  assert.equal(numberIn(await visible('[data-sizing="peakOnline"]')), plan([]).peakOnline);
  const serverRows = (await page.locator('#sizing-servers tbody tr').allInnerTexts()).map((r) => r.split('\t'));
  const bandwidthRows = (await page.locator('#sizing-bandwidth tbody tr').allInnerTexts()).map((r) => r.split('\t'));
  // summary.json keeps the normalised figure to 4 decimals, plan reads it unrounded from the
  // journal: allow that rounding and the page's own (half its last digit), nothing more.
  const perUserRounding = 0.00005;
  let bandwidthRowsChecked = 0;
  // A 60-user run that held measured no capacity: plan refuses it as a source (exit 2, saying
  // why), and the page sizes on the documented figure alone, saying the same.
  const refused = spawnSync(process.execPath, ['bin/imload.js', 'plan', ...PLAN_ARGS, '--from-run', runDir, '--json'], { encoding: 'utf8' });
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /measured no server capacity/);
  assert.match(await visible('#sizing'), /No measured capacity from this run/);
  for (const planned of [plan([])]) {
    const chat = planned.servers.find((s) => s.role === 'chat servers (IRC)')!;
    const row = serverRows.find((r) => numberIn(r[1]!) === chat.perServer);
    assert.ok(row, `a sizing row with ${chat.perServer} users per server, as plan uses: ${JSON.stringify(serverRows)}`);
    assert.equal(numberIn(row[2]!), chat.servers, `servers needed at ${chat.perServer} per server`);

    const kbps = planned.kbpsPerUser.value;
    const bandwidthRow = bandwidthRows.find((r) => Math.abs(numberIn(r[0]!.replace(/^\D+/, '')) - kbps) <= perUserRounding + 1e-9);
    if (!bandwidthRow) continue;
    bandwidthRowsChecked++;
    const site = planned.sites[0]!;
    assert.ok(Math.abs(numberIn(bandwidthRow[1]!) - planned.totalKbps / 1000) <= 0.005 + (planned.peakOnline * perUserRounding) / 1000, `${bandwidthRow[1]} vs plan ${planned.totalKbps} kbit/s`);
    assert.ok(Math.abs(numberIn(bandwidthRow[2]!) - site.kbps) <= 0.05 + 100 * perUserRounding, `${bandwidthRow[2]} vs plan ${site.kbps} kbit/s`);
    assert.ok(Math.abs(numberIn(bandwidthRow[3]!) - site.linkUse * 100) <= 0.5 + (100 * perUserRounding * 100) / 56, `${bandwidthRow[3]} vs plan ${site.linkUse}`);
  }
  assert.equal(bandwidthRowsChecked, 1, `the plan's per-user bandwidth (documented) is a row of the table: ${JSON.stringify(bandwidthRows)}`);
});
