/**
 * A run whose generator's own UDP sockets dropped datagrams, read like a person reads it: its
 * errors broke an error SLO, and the page, the text report and summary.json all say imload's host
 * lost what the server sent, and that the users figure is therefore not booked as missed (the
 * text report as `imload report` prints it, summary.md as written); and what the server's own
 * sockets dropped is told apart from it.
 * A synthetic journal (no lab server drops datagrams on imload's sockets on demand), its report
 * written as `imload report` writes it and opened in headless Chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import type { Summary } from '../../src/analysis/summary.js';
import { verdictLabel } from '../../src/report/format.js';
import { which } from '../../src/lab/process.js';
import { writeSyntheticJournal } from '../unit/report-synthetic-journal.js';

const USERS = 20_000;
let dir = '';
let summary: Summary;
let browser: Browser | undefined;
let page: Page;
/** What `imload report` printed: the text report. */
let printed = '';
const skip = !which('chromium') && !process.env.CI ? 'chromium not installed (imload lab install)' : false;

before(async () => {
  if (skip) return;
  if (!which('chromium')) throw new Error('chromium not found: CI installs it');
  dir = mkdtempSync(join(tmpdir(), 'imload-report-lost-'));
  // 20,000 users held; in the ramp-down, 30 s of logoff timeouts while worker 1 dropped datagrams.
  writeSyntheticJournal({
    path: join(dir, 'journal.ndjson'),
    seconds: 240,
    users: USERS,
    rampSeconds: 60,
    rampDownSeconds: 60,
    workers: 2,
    fanOut: 5,
    thresholds: ['logon.p95 < 3s', 'errors.rate < 0.1%'],
    errorsAt: (t): Record<string, number> => (t > 190 && t <= 220 ? { 'logoff-timeout': 20 } : {}),
    udpDropsAt: (t, worker) => (worker === 1 && t > 185 && t <= 215 ? 400 : 0),
    // The server's own sockets dropped some too, in ten of those seconds.
    serverDropsAt: (t) => (t > 200 && t <= 210 ? 55 : 0),
  });
  printed = execFileSync(process.execPath, ['bin/imload.js', 'report', dir], { encoding: 'utf8' });
  summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 }, colorScheme: 'light' });
  await page.goto(`file://${join(dir, 'index.html')}`);
}, { timeout: 120_000 });
after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the page, the text report and summary.json say the host lost what the server sent, and the failure is not booked as missed', { skip }, async () => {
  const g = summary.generator;
  assert.deepEqual(g.udpReceiveDrops, { datagrams: 12_000, seconds: 30, workers: [1] });
  assert.equal(g.bottleneck, false, 'drops do not shape the load');
  assert.equal(g.lostOnHost?.length, 1);
  assert.ok(summary.thresholds.some((t) => t.metric === 'errors.rate' && !t.ok), 'the errors broke errors.rate');

  const banner = page.locator('#lost-on-host');
  assert.ok(await banner.isVisible());
  const text = await banner.innerText();
  assert.ok(text.includes(g.lostOnHost![0]!), text);
  assert.match(text, /12000 datagrams .* in 30 seconds \(worker 1/);

  const users = summary.limits!.verdicts.find((v) => v.metric === 'users.peakOnline')!;
  assert.equal(users.verdict, 'not-reached');
  assert.match(users.reason, /^the load generator lost what the server sent/);
  const row = (await page.locator('#verdicts tbody tr').allInnerTexts()).find((r) => r.includes(users.id))!;
  assert.ok(row.includes(verdictLabel(users)) && row.includes('lost what the server sent'), row);

  assert.ok(printed.includes(`LOST ON IMLOAD'S HOST: ${g.lostOnHost![0]!}`), printed);

  // The server's drops are told apart from imload's: its own line, its own place on the page.
  assert.deepEqual(summary.labServer, { udpReceiveDrops: { datagrams: 550, seconds: 10 } });
  const serverDrops = 'its UDP sockets dropped 550 datagrams in 10 seconds (receive buffers full: it did not read them in time)';
  assert.ok(printed.includes(`server     ${serverDrops}`), printed);
  assert.equal(await page.locator('#server-drops').innerText(), serverDrops);
  assert.ok(readFileSync(join(dir, 'summary.md'), 'utf8').includes(`imload's host lost what the server sent: ${g.lostOnHost![0]!}`));
});
