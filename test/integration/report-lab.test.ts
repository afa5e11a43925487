/**
 * The capacity report from real small lab runs (InspIRCd, 30 users, 10 s), opened in headless
 * Chromium: no console errors, every chart drew data, the verdict table is there, the sizing
 * table recomputes; JUnit from a real run; compare passes two runs of the same seed; and a
 * killed run's journal still rebuilds into a page that says it was cut short.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runCommand } from '../../src/commands/run.js';
import { compareCommand } from '../../src/commands/compare.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';
import { descendants, parseXml } from '../unit/report-xml.js';

const SCENARIO = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  tiny:
    description: 30 chat users for 10 s (report test)
    target: chat
    limits: exchange2000-chat
    seed: 5
    timeScale: 360
    population:
      users: 30
      channels: { count: 3, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: 30 }
      - { phase: hold, duration: 10s }
      - { phase: rampDown, rate: 60 }
    behaviour:
      messagesPerHour: 3
      channelMessagesPerHour: 2
      activityStart: rampUpEnd
      activityDelay: 2s
    # Loose on purpose: these runs test the report, not the server's speed on a busy machine.
    thresholds:
      - logon.p95 < 10s
      - delivery.p99 < 2s
      - messages.lost == 0
`;

const CHROMIUM = '/usr/bin/chromium';
const artifacts = mkdtempSync(join(tmpdir(), 'imload-report-artifacts-'));

let runs: Promise<[string, string]> | undefined;
/** Two runs of the same seed, made once and shared by the tests that need them. */
function labRuns(): Promise<[string, string]> {
  runs ??= (async () => {
    const { file, dir } = writeScenario(SCENARIO);
    const made: string[] = [];
    for (const name of ['first', 'second']) {
      const out = join(dir, name);
      const { exitCode } = await runCommand({ file, scenario: 'tiny', lab: true, quiet: true, out, signal: new AbortController().signal });
      assert.equal(exitCode, 0, `lab run ${name} passed its thresholds`);
      made.push(out);
    }
    return made as [string, string];
  })();
  return runs;
}

let browser: Browser | undefined;
async function openReport(file: string, colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; errors: string[] }> {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, colorScheme });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  // Offline means offline: any request other than the file itself is an error.
  await page.route('**/*', (route) => (route.request().url().startsWith('file://') ? route.continue() : (errors.push(`network: ${route.request().url()}`), route.abort())));
  await page.goto(`file://${file}`);
  // Chart.js draws synchronously on construction; wait until every canvas has its chart.
  await page.waitForFunction(() => [...document.querySelectorAll('canvas')].every((c) => (window as unknown as { Chart: { getChart(c: unknown): unknown } }).Chart.getChart(c)));
  return { page, errors };
}
after(async () => browser?.close());

/** Per chart: how many points it has and how many elements its datasets laid out. */
function chartPoints(page: Page) {
  return page.evaluate(() => {
    const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { datasets: Array<{ data: unknown[] }> }; getDatasetMeta(i: number): { data: unknown[] } } } }).Chart;
    return [...document.querySelectorAll('canvas')].map((canvas) => {
      const chart = Chart.getChart(canvas);
      return {
        id: canvas.id,
        points: chart.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null && v !== undefined).length, 0),
        drawn: chart.data.datasets.reduce((n, _d, i) => n + chart.getDatasetMeta(i).data.length, 0),
      };
    });
  });
}

function needsTools(t: TestContext): boolean {
  return requireBinary(t, 'inspircd', 'inspircd') && requireBinary(t, 'chromium', 'chromium');
}

test('the report of a real lab run opens offline in Chromium: no errors, every chart drew data, verdicts and sizing work', { timeout: 180_000 }, async (t) => {
  if (!needsTools(t)) return;
  const [runDir] = await labRuns();
  const { page, errors } = await openReport(join(runDir, 'index.html'));
  const charts = await chartPoints(page);
  const ids = charts.map((c) => c.id);
  for (const id of ['chart-online', 'chart-logons', 'chart-messages', 'chart-latency-logon', 'chart-latency-join', 'chart-latency-delivery', 'chart-bandwidth', 'chart-errors', 'chart-health-event-loop', 'chart-health-cpu', 'chart-health-rss']) {
    assert.ok(ids.includes(id), `${id} is on the page (${ids.join(', ')})`);
  }
  for (const chart of charts) {
    assert.ok(chart.points > 0, `${chart.id} has data points`);
    assert.ok(chart.drawn > 0, `${chart.id} laid out its points`);
  }
  const verdicts = await page.locator('#verdicts tbody tr').allInnerTexts();
  assert.equal(verdicts.length, 1);
  assert.match(verdicts[0]!, /users-per-chat-server[\s\S]*not reached[\s\S]*asked for 30 users, fewer than 20,000/);
  assert.equal(await page.locator('#thresholds tbody tr').count(), 3);
  assert.match(await page.locator('#figures').innerText(), /kbit\/s real time, normalised from timeScale 360.*kbit\/s wall-clock at timeScale 360/);
  assert.match(await page.locator('#reproduce').innerText(), /imload run .* -s tiny --seed 5 .*--lab[\s\S]*InspIRCd/);
  assert.match(await page.locator('#protocols').innerText(), /server says 30/);

  // The sizing table recomputes in the page with the same code as src/report/sizing.ts.
  await page.fill('#sizing-users', '1000000');
  await page.fill('#sizing-fraction', '10');
  assert.equal(await page.locator('[data-sizing="peakOnline"]').innerText(), '100,000');
  assert.equal(await page.locator('[data-sizing="servers-0"]').innerText(), '5', '100,000 online / 20,000 per server');

  const screenshot = join(artifacts, 'report-light.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  t.diagnostic(`screenshot: ${screenshot}`);
  console.log(`report screenshot: ${screenshot}`);
  await page.emulateMedia({ media: 'print' });
  const pdf = join(artifacts, 'report-print.pdf');
  await page.pdf({ path: pdf, format: 'A4', printBackground: false });
  console.log(`report printed: ${pdf}`);
  assert.ok(readFileSync(pdf).subarray(0, 4).toString() === '%PDF');
  assert.deepEqual(errors, []);
});

test('dark mode: the page switches to its dark palette and still draws every chart', { timeout: 180_000 }, async (t) => {
  if (!needsTools(t)) return;
  const [runDir] = await labRuns();
  const { page, errors } = await openReport(join(runDir, 'index.html'), 'dark');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(23, 24, 26)');
  for (const chart of await chartPoints(page)) assert.ok(chart.points > 0, chart.id);
  const screenshot = join(artifacts, 'report-dark.png');
  await page.screenshot({ path: screenshot });
  console.log(`report screenshot (dark): ${screenshot}`);
  assert.deepEqual(errors, []);
});

test('junit.xml of a real run parses: three thresholds pass, the 20,000-user limit is skipped with its reason', { timeout: 180_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const [runDir] = await labRuns();
  const doc = parseXml(readFileSync(join(runDir, 'junit.xml'), 'utf8'));
  const cases = descendants(doc, 'testcase');
  assert.deepEqual(cases.map((c) => c.attributes.name), ['logon.p95 < 10s', 'delivery.p99 < 2s', 'messages.lost == 0', 'users-per-chat-server: >= 20000 concurrent users']);
  assert.equal(descendants(doc, 'failure').length, 0);
  const skipped = descendants(doc, 'skipped');
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!.attributes.message!, /asked for 30 users/);
});

test('imload compare passes two runs of the same seed', { timeout: 180_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const [first, second] = await labRuns();
  const { exitCode, comparison } = await compareCommand({ baselineDir: first, runDir: second, quiet: true });
  assert.deepEqual(comparison.regressions.map((m) => `${m.metric}: ${m.baseline} -> ${m.run}`), []);
  assert.equal(exitCode, 0);
  const peak = comparison.metrics.find((m) => m.metric === 'users.peakOnline')!;
  assert.equal(peak.baseline, 30);
  assert.equal(peak.status, 'unchanged');
});

test('a killed run: journal without end record and with a torn last line rebuilds, and the page says it was cut short', { timeout: 180_000 }, async (t) => {
  if (!needsTools(t)) return;
  const [runDir] = await labRuns();
  const lines = readFileSync(join(runDir, 'journal.ndjson'), 'utf8').trimEnd().split('\n');
  // Keep the header and the first ten seconds; then half of the next line, as kill -9 leaves it.
  const seconds = lines.filter((l) => l.includes('"type":"second"'));
  const kept = [lines[0]!, ...lines.slice(1).filter((l) => !l.includes('"type":"end"')).slice(0, 10)];
  const killed = join(artifacts, 'killed');
  mkdirSync(killed, { recursive: true });
  writeFileSync(join(killed, 'journal.ndjson'), `${kept.join('\n')}\n${seconds[10]!.slice(0, 40)}`);
  execFileSync(process.execPath, ['bin/imload.js', 'report', killed], { encoding: 'utf8' });
  const { page, errors } = await openReport(join(killed, 'index.html'));
  const banner = page.locator('#cut-short');
  assert.ok(await banner.isVisible());
  assert.match(await banner.innerText(), /cut short: the journal has no end record.*last line was torn/s);
  for (const chart of await chartPoints(page)) assert.ok(chart.points > 0, chart.id);
  await page.screenshot({ path: join(artifacts, 'report-killed.png') });
  console.log(`report screenshot (killed run): ${join(artifacts, 'report-killed.png')}`);
  assert.deepEqual(errors, []);
});
