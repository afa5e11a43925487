/**
 * One segment of a split population (`run --segment 2/3`), read as a person reads its report: its
 * senders' deliveries to other segments' users, and its users' receipts from other segments, are in
 * those segments' journals, so it cannot tell a loss — the page, the text report and summary.md say
 * what it counted and that the merged run tells the losses, and show no "lost" figure; a threshold on
 * the loss rate is left to the merged run, not failed on the shortfall. A synthetic
 * journal (its users received 80 % of what its senders sent, as a segment's do), its report written
 * as `imload report` writes it, opened in Chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chromiumSkip as skip, syntheticReport, type SyntheticReport } from '../helpers/report-page.js';

let report: SyntheticReport | undefined;
const SAID = /this run is segment 2 of 3: its senders expected [\d,]+ deliveries to users in every segment, its users received [\d,]+ from senders in every segment; the other segments' journals hold the rest, so losses are the merged run's to tell \(imload merge\)/;

before(async () => {
  if (skip) return;
  report = await syntheticReport('report-segment', { seconds: 180, users: 2000, rampSeconds: 40, rampDownSeconds: 40, workers: 1, fanOut: 5, segment: { index: 1, count: 3 }, receivedShare: 0.8, thresholds: ['logon.p95 < 3s', 'messages.lossRate < 0.1%'] });
}, { timeout: 120_000 });
after(() => report?.close());

test('summary.json marks the deliveries as crossing segments; the counters show a shortfall no one lost', { skip }, () => {
  const { summary } = report!;
  assert.deepEqual(summary.messages.acrossSegments, { segment: 2, of: 3 });
  assert.equal(summary.users.requested, 2000);
  assert.ok(summary.messages.delivered < summary.messages.expected, 'the fixture: its users received fewer than its senders sent');
});

test('the page says what the segment counted and names no loss', { skip }, async () => {
  const { page } = report!;
  const row = page.locator('#figures tr', { has: page.locator('th', { hasText: /^Messages$/ }) });
  const text = (await row.innerText()).replace(/\s+/g, ' ');
  assert.match(text, SAID);
  assert.doesNotMatch(text, /lost/);
  assert.ok(await page.locator('#across-segments').isVisible());
  assert.match((await page.locator('#losses-across-segments').innerText()).trim(), /^This run is segment 2 of 3: .* \(imload merge\)\.$/);
});

test('the text report and summary.md say it too', { skip }, () => {
  const messages = report!.printed.split('\n').find((l) => l.startsWith('messages '))!;
  assert.match(messages, SAID);
  assert.doesNotMatch(messages, /lost/);
  const markdown = readFileSync(join(report!.dir, 'summary.md'), 'utf8');
  assert.match(markdown, new RegExp(`^- deliveries: ${SAID.source}$`, 'm'));
});

const LEFT = /^segment 2 of 3 holds only its own users' side of messages\.lossRate; imload merge judges it on the merged run$/;

test('a loss-rate threshold is left to the merged run: summary.json, exit code, page, text, summary.md and junit.xml', { skip }, async () => {
  const { summary, page, printed, dir } = report!;
  const [logon, loss] = summary.thresholds;
  assert.equal(logon!.notJudged, undefined);
  assert.equal(loss!.metric, 'messages.lossRate');
  assert.match(loss!.notJudged ?? '', LEFT);
  assert.equal(loss!.actual, null);
  assert.ok(loss!.ok, 'the segment does not fail on receipts other journals hold');
  // `imload report` exits 0 (syntheticReport's execFileSync would have thrown on 99); `imload merge` judges it.
  execFileSync(process.execPath, ['bin/imload.js', 'report', dir], { encoding: 'utf8' });

  const row = page.locator('#thresholds tr', { has: page.locator('code', { hasText: 'messages.lossRate' }) });
  const cells = (await row.locator('td').allInnerTexts()).map((c) => c.trim());
  assert.equal(cells[1], '–');
  assert.equal(cells[2], 'not judged here');
  assert.match(cells[3]!, /^segment 2 of 3 holds only its own users' side of messages\.lossRate; imload merge judges it/);
  assert.equal((await page.locator('#thresholds-left').innerText()).trim(), '1 left to imload merge: this is one segment');
  const outcome = page.locator('dl.facts dd', { has: page.locator('#thresholds-left') });
  assert.equal((await outcome.innerText()).trim(), 'the threshold passed (1 left to imload merge: this is one segment)');

  assert.match(printed, /^✓ PASSED: the threshold held \(messages\.lossRate left to imload merge: this is one segment\);/m);
  assert.match(printed, /^ {2}– messages\.lossRate not judged here < 0\.1 %: segment 2 of 3 /m);
  assert.match(readFileSync(join(dir, 'summary.md'), 'utf8'), /^\| `messages\.lossRate < 0\.1%` \| – \| < 0\.1 % \| ➖ not judged: segment 2 of 3 /m);
  const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
  assert.match(junit, /<testcase name="messages\.lossRate &lt; 0\.1%"[^>]*><skipped message="not judged: segment 2 of 3 /);
});
