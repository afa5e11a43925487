/** `imload report` on a killed run's journal: no end record, a torn last line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { writeSyntheticJournal } from './report-synthetic-journal.js';

/** Runs `imload report <dir>` as a user would; returns its text summary. */
function imloadReport(dir: string): string {
  return execFileSync(process.execPath, ['bin/imload.js', 'report', dir], { encoding: 'utf8' });
}

test('a killed run (no end record, torn last line) still gets every output, and the page says it was cut short', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-killed-'));
  writeSyntheticJournal({ path: join(dir, 'journal.ndjson'), seconds: 45, users: 200, rampSeconds: 10, rampDownSeconds: 40, ended: false, tornLastLine: true });
  const text = imloadReport(dir);
  assert.match(text, /^■ CUT SHORT: the journal has no end record \(the run was killed\), 45 s in; /m);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.end.reason, 'unknown');
  assert.equal(summary.users.peakOnline, 200, 'every journaled second counts');
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const banner = /<p class="banner warn" id="cut-short" role="alert">([^<]*)<\/p>/.exec(html);
  assert.ok(banner, 'the cut-short banner is on the page');
  assert.match(banner[1]!, /cut short: the journal has no end record/);
  assert.match(banner[1]!, /45 s it journaled/);
  assert.match(banner[1]!, /last line was torn/);
  assert.match(readFileSync(join(dir, 'summary.md'), 'utf8'), /> ⚠️ This run was cut short/);
  assert.match(readFileSync(join(dir, 'junit.xml'), 'utf8'), /<testsuites /);
});

test('a run that ended cleanly but was interrupted says so too; a complete run has no banner', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-complete-'));
  writeSyntheticJournal({ path: join(dir, 'journal.ndjson'), seconds: 20, users: 50, rampSeconds: 5 });
  imloadReport(dir);
  assert.doesNotMatch(readFileSync(join(dir, 'index.html'), 'utf8'), /id="cut-short"/);
  const interrupted = mkdtempSync(join(tmpdir(), 'imload-interrupted-'));
  const journal = join(interrupted, 'journal.ndjson');
  writeSyntheticJournal({ path: journal, seconds: 20, users: 50, rampSeconds: 5, ended: false });
  const { JournalWriter } = await import('../../src/metrics/journal.js');
  new JournalWriter(journal).append({ type: 'end', at: Date.UTC(2026, 10, 22, 3, 0, 21), reason: 'interrupted', detail: 'Ctrl-C' });
  imloadReport(interrupted);
  assert.match(readFileSync(join(interrupted, 'index.html'), 'utf8'), /id="cut-short"[^>]*>This run ended early \(interrupted: Ctrl-C\)/);
});

test('a run killed before its first second: outputs are written, charts are left out with the reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-empty-run-'));
  const journal = join(dir, 'journal.ndjson');
  writeSyntheticJournal({ path: journal, seconds: 3, users: 10, rampSeconds: 1, ended: false });
  writeFileSync(journal, `${readFileSync(journal, 'utf8').split('\n')[0]}\n`);
  imloadReport(dir);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  assert.match(html, /id="cut-short"/);
  assert.doesNotMatch(html, /<canvas/);
  assert.match(html, /All charts: the journal has no per-second records/);
  assert.deepEqual(readdirSync(join(dir, 'charts')), []);
});
