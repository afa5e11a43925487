/**
 * The live page (`imload run --dashboard`): a short lab run on InspIRCd (30 users ramping over
 * 6 s) with the page opened in headless Chromium while it runs.
 * - During the run, the online count the page shows rises from one event to a later one (read
 *   from the DOM at two moments, each after the page applied an event).
 * - After the run, the page shows the final figures of summary.json, and its report sections
 *   and charts are those of index.html: the final report is the same page.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runCommand } from '../../src/commands/run.js';
import { formatMs, formatNumber } from '../../src/report/format.js';
import type { Summary } from '../../src/analysis/summary.js';
import { which } from '../../src/lab/process.js';
import { writeScenario } from '../helpers/scenario.js';

const SCENARIO = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  live:
    description: 30 chat users ramping over 6 s, a short hold with IMs, watched live
    target: chat
    seed: 5
    timeScale: 60
    population:
      users: 30
      contacts: 5
      channels: { count: 2, perUser: { min: 1, max: 1 } }
    phases:
      - { phase: rampUp, rate: 5 }
      - { phase: hold, duration: 5s }
      - { phase: rampDown, rate: 30 }
    behaviour:
      messagesPerHour: 6
      channelMessagesPerHour: 4
    thresholds:
      - logon.p95 < 10s
`;

const missing = ['inspircd', 'chromium'].filter((b) => !which(b));
const skip = missing.length > 0 && !process.env.CI ? `${missing.join(', ')} not installed (imload lab install)` : false;

let browser: Browser | undefined;
after(async () => browser?.close());

interface LiveState {
  readonly state: string;
  readonly updates: number;
  readonly online: string;
}

const liveState = (page: Page): Promise<LiveState> =>
  page.evaluate(() => {
    const live = document.getElementById('live')!;
    return { state: live.dataset.state!, updates: Number(live.dataset.updates), online: document.getElementById('live-online')!.textContent! };
  });

/** Waits until the page has applied at least `n` events. */
const afterUpdate = (page: Page, n: number) =>
  page.waitForFunction((count) => Number(document.getElementById('live')?.dataset.updates ?? 0) >= count, n, { timeout: 30_000 });

const parse = (text: string) => Number(text.replace(/,/g, ''));

test('the live page follows the run and ends as the final report', { skip, timeout: 60_000 }, async () => {
  if (missing.length > 0) throw new Error(`${missing.join(', ')} not found: CI installs them`);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const { file, dir } = writeScenario(SCENARIO);
  const runDir = join(dir, 'run');

  let announced!: (url: string) => void;
  const urlKnown = new Promise<string>((resolve) => (announced = resolve));
  const run = runCommand({ file, scenario: 'live', lab: true, quiet: true, out: runDir, signal: new AbortController().signal, dashboard: '127.0.0.1:0', onDashboard: announced });

  const watched = (async () => {
    const url = await urlKnown;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'a loopback URL on a port the system chose');
    await page.goto(url);
    // Moment one: the page has applied its first event of the run's seconds (a page opened
    // before the first second is greeted with a 'waiting' one).
    await page.waitForFunction(() => document.getElementById('live')?.dataset.state === 'live', undefined, { timeout: 30_000 });
    const first = await liveState(page);
    assert.equal(first.state, 'live');
    // Moment two: three events later, still ramping up (30 users at 5 a second).
    await afterUpdate(page, first.updates + 3);
    const later = await liveState(page);
    return { first, later };
  })();

  const [{ exitCode }, { first, later }] = await Promise.all([run, watched]);
  assert.equal(exitCode, 0);
  assert.equal(later.state, 'live', 'the second reading was taken during the run');
  assert.ok(parse(later.online) > parse(first.online), `online rose across updates: ${first.online} (update ${first.updates}) → ${later.online} (update ${later.updates})`);

  // After the run: the final event was applied before the server closed.
  await page.waitForFunction(() => document.getElementById('live')?.dataset.state === 'final', undefined, { timeout: 10_000 });
  const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as Summary;
  assert.ok(summary.users.peakOnline === 30 && summary.messages.delivered > 0, 'the run measured what the page shows');
  const text = (selector: string) => page.locator(selector).innerText();
  assert.equal(await text('#live-online'), formatNumber(summary.users.peakOnline));
  assert.equal(await text('#live-logons'), formatNumber(summary.users.logonOk));
  assert.equal(await text('#live-deliveries'), formatNumber(summary.messages.delivered));
  assert.equal(await text('#live-errors'), formatNumber(summary.errors.total));
  // Planned: 6 s ramping up, 5 s hold, 1 s ramping down.
  assert.equal(await text('#live-elapsed'), `${formatNumber(summary.durationSeconds)} s of 12 s`);
  assert.ok((await text('#overview')).includes(`${formatNumber(summary.users.peakOnline)} of ${formatNumber(summary.users.requested)} users online at peak`));
  assert.equal(await text('#headline-delivery'), `p99 ${formatMs(summary.latency.delivery.p99)} (${formatNumber(summary.latency.delivery.count)} samples)`);
  const thresholdRows = await page.locator('#thresholds tbody tr').allInnerTexts();
  assert.deepEqual(thresholdRows.map((r) => r.split('\t')[2]), summary.thresholds.map((t) => (t.ok ? 'passed' : 'failed')));

  // The same page as index.html: every report section's text, and every chart's data.
  const report = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await report.goto(`file://${join(runDir, 'index.html')}`);
  // The section list is read from the report itself, so a section added later is compared too.
  const sectionIds = (p: Page) => p.locator('main > section').evaluateAll((sections) => sections.map((section) => section.id));
  const sections = await sectionIds(report);
  assert.ok(sections.includes('faults') && sections.includes('overview'), `the report's sections: ${sections.join(', ')}`);
  assert.deepEqual((await sectionIds(page)).filter((id) => id !== 'live'), sections, 'the live page has the report sections, in order');
  for (const id of sections) assert.equal(await page.locator(`#${id}`).innerText(), await report.locator(`#${id}`).innerText(), `section #${id}`);
  const chartData = (p: Page) =>
    p.evaluate(() => {
      const charts = Object.values((window as unknown as { Chart: { instances: Record<string, { canvas: HTMLCanvasElement; data: unknown }> } }).Chart.instances);
      return JSON.stringify(charts.map((c) => [c.canvas.id, c.data]).sort());
    });
  assert.equal(await chartData(page), await chartData(report));
});
