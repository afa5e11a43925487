/**
 * The terminal summary and summary.md as a person reads them: the verdict first, thresholds with
 * ✓/✗ and the same unit on both sides, numbers and durations formatted one way, and bandwidth
 * per user set against the documented real-time figure only in real time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJournal } from '../../src/metrics/journal.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { buildReportModel } from '../../src/report/report-model.js';
import { buildSummary, type Summary } from '../../src/analysis/summary.js';
import { formatMs } from '../../src/report/format.js';
import { formatDuration, formatProgress, formatSummaryText } from '../../src/report/text.js';
import type { Progress } from '../../src/engine/coordinator.js';
import { writeSyntheticJournal } from './report-synthetic-journal.js';

function syntheticRun(thresholds: readonly string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'imload-text-'));
  writeSyntheticJournal({ path: join(dir, 'journal.ndjson'), seconds: 40, users: 2000, rampSeconds: 5, fanOut: 10, thresholds });
  const entries = readJournal(join(dir, 'journal.ndjson'));
  return { dir, entries, summary: buildSummary(entries).summary };
}

test('the verdict comes first, then each threshold with ✓/✗ and units on both sides, then the figures', () => {
  const { summary } = syntheticRun(['delivery.p99 < 1ms', 'users.peakOnline >= 1500', 'errors.rate < 1%']);
  const lines = formatSummaryText(summary, '/tmp/run').split('\n');
  const first = lines.find((l) => l.trim() !== '');
  assert.equal(first, `✗ FAILED: 1 of 3 thresholds failed: delivery.p99; the run completed after ${formatDuration(summary.durationSeconds)}`);
  const thresholds = lines.indexOf('thresholds');
  assert.deepEqual(lines.slice(thresholds + 1, thresholds + 4), [
    `  ✗ delivery.p99 ${formatMs(summary.latency.delivery.p99)} < 1 ms`,
    '  ✓ users.peakOnline 2,000 >= 1,500',
    '  ✓ errors.rate 0 % < 1 %',
  ]);
  const users = lines.findIndex((l) => l.startsWith('users '));
  assert.ok(lines.indexOf(first!) < thresholds && thresholds < users, 'verdict, thresholds, figures, in that order');
  assert.match(lines[users]!, /^users {6}requested 2,000, peak online 2,000, logons ok 2,000 of 2,000, failed 0/);
  // junit.xml states the limit in the same unit as the measured value.
  assert.ok(renderJunit(summary).includes(`<failure message="delivery.p99 &lt; 1ms failed: measured ${formatMs(summary.latency.delivery.p99)}, limit &lt; 1 ms">`), renderJunit(summary));
  // One number format: no digit group of four or more without separators beside grouped ones.
  const figures = lines.slice(users).filter((l) => !l.startsWith('outputs in'));
  for (const line of figures) assert.doesNotMatch(line, /(?<![\d.,])\d{4,}(?![\d.])/, `ungrouped number in: ${line}`);
});

test('every threshold held: ✓ PASSED first; an interrupted run says so first', () => {
  const { summary } = syntheticRun(['delivery.p99 < 2s']);
  const text = formatSummaryText(summary, '/tmp/run');
  assert.equal(text.split('\n')[1], `✓ PASSED: the threshold held; the run completed after ${formatDuration(summary.durationSeconds)}`);
  assert.match(text, /^ {2}✓ delivery\.p99 [\d.]+ ms < 2 s$/m);
  const interrupted: Summary = { ...summary, end: { reason: 'interrupted' } };
  assert.match(formatSummaryText(interrupted, '/tmp/run').split('\n')[1]!, /^■ INTERRUPTED: the run interrupted after [\d.]+ s; the threshold held$/);
});

test('durations read as people say them', () => {
  assert.deepEqual([20, 12.34, 90, 600, 7500, 7200].map(formatDuration), ['20 s', '12.3 s', '1 min 30 s', '10 min', '2 h 5 min', '2 h']);
});

test('the progress line shows elapsed of planned time and the phase first', () => {
  const progress = { t: 72, phase: 'hold', online: 1500, requested: 2000, deliveryP99: 3.4, totals: { logonOk: 1500, logonFailed: 2, messagesSent: 12000, channelMessagesSent: 345, deliveriesReceived: 56789, errors: 3 } } as unknown as Progress;
  assert.equal(
    formatProgress(progress, 330),
    '1 min 12 s of 5 min 30 s  hold      online 1,500/2,000  logons 1,500 (failed 2)  sent 12,345  delivered 56,789  delivery p99 3.4 ms  errors 3',
  );
});

test('at timeScale 180 bandwidth per user is set against the documented figure only in real time; wall-clock is labelled', () => {
  const { summary, entries, dir } = syntheticRun(['errors.rate < 1%']);
  // The synthetic journal runs at timeScale 1; its summary is re-read as a 180× compressed run
  // with the wall-clock and normalised figures of the committed example (issue 17).
  const compressed: Summary = {
    ...summary,
    timeScale: 180,
    bandwidth: { ...summary.bandwidth, kbpsPerUser: 6.52, normalised: { kbpsPerUser: 0.036, method: 'synthetic', modelScale: 1 } },
  };
  const terminal = formatSummaryText(compressed, dir).split('\n').find((l) => l.startsWith('bandwidth'))!;
  assert.match(terminal, /^bandwidth {2}0\.036 kbit\/s per online user in real time over the hold \(normalised from timeScale 180; documented 1\.6 kbit\/s real time\); wall-clock 6\.52 kbit\/s \(time compressed 180×: not a real-time figure\); in /);
  const markdown = renderMarkdown(buildReportModel(compressed, { entries, tornLastLine: false })).split('\n').find((l) => l.startsWith('- bandwidth:'))!;
  assert.equal(markdown, '- bandwidth: 0.036 kbit/s per online user in real time over the hold (normalised from timeScale 180; documented 1.6 kbit/s real time); wall-clock 6.52 kbit/s (time compressed 180×: not a real-time figure)');
  for (const text of [terminal, markdown]) assert.doesNotMatch(text, /6\.52 kbit\/s per online user/, 'the wall-clock figure never stands as the per-user figure');

  // No normalised figure: no comparison with the documented one at all.
  const none: Summary = { ...compressed, bandwidth: { ...compressed.bandwidth, normalised: null } };
  const line = formatSummaryText(none, dir).split('\n').find((l) => l.startsWith('bandwidth'))!;
  assert.doesNotMatch(line, /documented/);
  assert.match(line, /wall-clock 6\.52 kbit\/s \(time compressed 180×: not a real-time figure\)/);

  // At timeScale 1 the measured figure is the real-time one.
  const real = formatSummaryText(summary, dir).split('\n').find((l) => l.startsWith('bandwidth'))!;
  assert.match(real, new RegExp(`^bandwidth  ${String(summary.bandwidth.kbpsPerUser).replace('.', '\\.')} kbit/s per online user over the hold \\(timeScale 1: wall-clock is real time; documented 1\\.6 kbit/s real time\\)`));
});
