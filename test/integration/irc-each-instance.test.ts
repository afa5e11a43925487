/**
 * Each-instance channels on real servers (#19 item 1): two InspIRCd servers that are not linked
 * (`lab: inspircd-unlinked`); every user connects to both, joins each channel on both and posts
 * each channel message to both instances. Every intended recipient gets every message once (the
 * first copy), the other instance's copy is counted as a duplicate by design and not as the
 * server's duplicate, the extra posts, copies and bytes are counted, and the report page shows
 * the cost as summary.json has it (headless Chromium).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { runCommand } from '../../src/commands/run.js';
import { which } from '../../src/lab/process.js';
import { describeEachInstance } from '../../src/report/each-instance.js';
import { formatSummaryText } from '../../src/report/text.js';
import type { Summary } from '../../src/analysis/summary.js';
import { calibrateAgainstRun } from '../../src/capacity/simulate-calibrate.js';
import { writeScenario } from '../helpers/scenario.js';

const SCENARIO = `version: 1
targets:
  unlinked: { url: irc://127.0.0.1:6667, lab: inspircd-unlinked, network: { servers: 2, spread: range, channels: each-instance } }
scenarios:
  it:
    target: unlinked
    seed: 55
    timeScale: 240
    population:
      users: 30
      channels: { count: 3, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: 60 }
      - { phase: hold, duration: 8s }
      - { phase: rampDown, rate: 100 }
    behaviour:
      messagesPerHour: 4
      channelMessagesPerHour: 8
      activityStart: rampUpEnd
      activityDelay: 2s
    thresholds:
      - messages.lost == 0
      - errors.count == 0
`;

const missing = ['inspircd', 'chromium'].filter((b) => !which(b));
const skip = missing.length > 0 && !process.env.CI ? `${missing.join(', ')} not installed (imload lab install)` : false;

test('2 unlinked InspIRCd servers, each-instance channels: one delivery per recipient, the copies and bytes it costs, shown in the report', { skip, timeout: 90_000 }, async () => {
  if (missing.length > 0) throw new Error(`${missing.join(', ')} not found: CI installs them`);
  const { file, dir } = writeScenario(SCENARIO);
  const runDir = join(dir, 'run');
  const { exitCode, result } = await runCommand({ file, scenario: 'it', lab: true, quiet: true, out: runDir, workers: 1, signal: new AbortController().signal });
  const s = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as Summary;
  assert.deepEqual(s.eachInstance, result.summary.eachInstance, 'summary.json is the run’s summary');
  const m = s.messages;
  const e = s.eachInstance;
  const detail = JSON.stringify({ messages: m, eachInstance: e, errors: s.errors.byKind, users: s.users, crossCheck: s.crossCheck });
  assert.ok(e, `the summary carries the mode’s cost: ${detail}`);
  assert.equal(s.users.peakOnline, 30, detail);
  assert.ok(m.channelSent > 10 && m.sent > 3, detail);

  // Every intended recipient got every message once, whichever instance's copy came first.
  assert.equal(m.delivered, m.expected, detail);
  assert.equal(m.lost, 0, detail);
  assert.equal(m.duplicates, 0, `the other instance's copies are not the server's duplicates: ${detail}`);
  assert.equal(m.misrouted, 0, detail);
  assert.equal(m.unexpected, 0, detail);
  assert.equal(s.latency.delivery.count, m.delivered, 'one latency per delivery, from its first copy');
  assert.equal(s.latency.deliveryCrossServer?.count ?? 0, 0, 'no delivery crosses servers: they are not linked');

  // What the mode costs: a post per channel message to the second instance, a second copy per
  // channel delivery, and the bytes of every user's second connection.
  assert.equal(e.servers, 2);
  assert.equal(e.extraPosts, m.channelSent, `one extra post per channel message: ${detail}`);
  const imDeliveries = m.sent - m.undeliverable - m.failed;
  assert.equal(e.extraCopies, m.delivered - imDeliveries, `one extra copy per channel delivery: ${detail}`);
  assert.equal(e.extraMessages, e.extraPosts + e.extraCopies);
  assert.ok(e.extraBytesIn > 0 && e.extraBytesOut > 0, detail);
  assert.equal(e.extraBytes, e.extraBytesIn + e.extraBytesOut);
  assert.ok(e.extraBytes < s.bandwidth.bytesIn + s.bandwidth.bytesOut, detail);
  // The second connection carries about what the first does: its own logon, joins, posts and copies.
  assert.ok(e.extraBytesRatio !== null && e.extraBytesRatio > 0.5 && e.extraBytesRatio < 1.5, `extra bytes ratio ${e.extraBytesRatio}`);

  // `imload simulate` predicts the same cost for the scenario the run ran.
  const calibration = calibrateAgainstRun(runDir);
  const predicted = calibration.prediction.eachInstance;
  assert.equal(predicted?.servers, 2, 'the prediction knows the run posted to each instance');
  const rowOf = (metric: string) => calibration.rows.find((r) => r.metric === metric);
  assert.ok(Math.abs(rowOf('each-instance extra messages')!.error!) < 0.05, JSON.stringify(calibration.rows));
  assert.ok(Math.abs(rowOf('each-instance extra bytes')!.error!) < 0.2, JSON.stringify(calibration.rows));

  // Every user is on the first server: its own count is the whole population.
  assert.equal(s.crossCheck?.serverOnline, 30, detail);
  assert.equal(exitCode, 0, JSON.stringify(s.thresholds));

  // The text summary and the report page say the cost as summary.json has it.
  const wording = describeEachInstance(e);
  assert.ok(formatSummaryText(s, runDir).split('\n').includes(`instances  ${wording}`));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await browser.newPage();
    await page.goto(`file://${join(runDir, 'index.html')}`);
    const row = await page.locator('#each-instance').innerText();
    assert.equal(row, `Each-instance channels\t${wording}. ${e.counted}.`);
    assert.ok(row.includes(`${e.extraCopies.toLocaleString('en')} extra copies received, duplicates by design`), row);
  } finally {
    await browser.close();
  }
});
