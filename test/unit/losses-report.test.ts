/** `imload report` on a run folder with an events file: each lost delivery explained in summary.json, index.html and losses.ndjson. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { JournalWriter, readJournal, type JournalHeader } from '../../src/metrics/journal.js';
import type { CounterName } from '../../src/metrics/names.js';
import type { RecordedEvent } from '../../src/metrics/recording.js';
import { EXIT } from '../../src/exit-codes.js';
import { writeSyntheticJournal } from './report-synthetic-journal.js';

/** u0 sends three IMs: u1 gets one, u2 logs off before the second arrives, u3 stays online and never gets the third. */
const EVENTS: RecordedEvent[] = [
  ...[0, 1, 2, 3].map((u): RecordedEvent => ({ u, t: 10, k: 'logon' })),
  { u: 0, t: 1000, k: 'message', to: 'u2', toIndex: 1, seq: 1 },
  { u: 0, t: 1002, k: 'sent', seq: 1, n: 1 },
  { u: 1, t: 1004, k: 'recv', from: 0, seq: 1 },
  { u: 0, t: 2000, k: 'message', to: 'u3', toIndex: 2, seq: 2 },
  { u: 0, t: 2002, k: 'sent', seq: 2, n: 1 },
  { u: 2, t: 2001, k: 'logoff' },
  { u: 0, t: 3000, k: 'message', to: 'u4', toIndex: 3, seq: 3 },
  { u: 0, t: 3002, k: 'sent', seq: 3, n: 1 },
  { u: -1, t: 30_000, k: 'stop' },
];

function runFolder(counters: Partial<Record<CounterName, number>>, events: boolean): string {
  const scratch = mkdtempSync(join(tmpdir(), 'imload-losses-header-'));
  const [header] = readJournal(writeJournalFrom(scratch));
  rmSync(scratch, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'imload-losses-run-'));
  const h = header as JournalHeader;
  const writer = new JournalWriter(join(dir, 'journal.ndjson'));
  writer.append(h);
  writer.append({ type: 'second', t: 1, at: h.startEpochMs + 1000, phase: 'hold', online: 4, counters, errors: {}, histograms: {}, health: [] });
  writer.append({ type: 'end', at: h.startEpochMs + 31_000, reason: 'completed' });
  if (events) writeFileSync(join(dir, 'events.ndjson.gz'), gzipSync(EVENTS.map((e) => `${JSON.stringify(e)}\n`).join('')));
  return dir;
}

function writeJournalFrom(dir: string): string {
  const path = join(dir, 'journal.ndjson');
  writeSyntheticJournal({ path, seconds: 3, users: 4, rampSeconds: 1 });
  return path;
}

const COUNTERS = { logonAttempts: 4, logonOk: 4, logoffAttempts: 4, logoffs: 4, messagesSent: 3, deliveriesExpected: 3, deliveriesReceived: 1 };
const report = (dir: string) => spawnSync(process.execPath, ['bin/imload.js', 'report', dir], { encoding: 'utf8' });

test('every lost delivery is explained in summary.json, listed by reason on the page, and written to losses.ndjson', () => {
  const dir = runFolder(COUNTERS, true);
  const run = report(dir);
  assert.equal(run.status, EXIT.ok, run.stderr);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  const d = summary.outcomes.deliveries;
  assert.equal(d.source, 'events');
  assert.deepEqual([d.expected, d.delivered, d.lost, d.cancelled], [3, 1, 2, 0]);
  assert.deepEqual(d.lostByReason, { 'left-channel': 0, 'logged-off': 1, 'connection-lost': 0, 'membership-race': 0, 'dropped-by-server': 1 });
  assert.deepEqual(d.examples.map((e: { recipient: number; reason: string }) => [e.recipient, e.reason]), [[2, 'logged-off'], [3, 'dropped-by-server']]);
  assert.equal(summary.messages.lost, 2);
  assert.ok(summary.invariants.every((i: { holds: boolean }) => i.holds), JSON.stringify(summary.invariants));
  const lines = readFileSync(join(dir, 'losses.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, d.examples);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const section = /<section id="outcomes"><h2>Outcomes and lost deliveries<\/h2>([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  assert.ok(section, 'the page has the outcomes section');
  assert.match(section, /<h3 id="loss-logged-off">1 — the recipient logged off before it arrived<\/h3>\n<table class="losses">.*\n<tr><td>2 s<\/td><td>u0<\/td><td>u2<\/td><td>IM<\/td><\/tr>/);
  assert.match(section, /<h3 id="loss-dropped-by-server">1 — dropped by the server.*\n<table class="losses">.*\n<tr><td>3 s<\/td><td>u0<\/td><td>u3<\/td><td>IM<\/td><\/tr>/);
  assert.doesNotMatch(section, /loss-left-channel/, 'reasons with no loss are not listed');
});

test('counters expecting a delivery the events file does not account for: delivery-outcomes broken, exit 4', () => {
  const dir = runFolder({ ...COUNTERS, deliveriesExpected: 4 }, true);
  const run = report(dir);
  assert.equal(run.status, EXIT.internalError);
  assert.match(run.stderr, /delivery-outcomes: .*expected 4, delivered 1, lost 2, cancelled 0/);
  assert.ok(existsSync(join(dir, 'index.html')));
});

test('without an events file the losses come from the counters and the page says their reasons are unknown', () => {
  const dir = runFolder(COUNTERS, false);
  const run = report(dir);
  assert.equal(run.status, EXIT.ok, run.stderr);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.outcomes.deliveries.source, 'counters');
  assert.equal(summary.outcomes.deliveries.lostByReason, null);
  assert.equal(summary.messages.lost, 2);
  assert.ok(!existsSync(join(dir, 'losses.ndjson')));
  assert.match(readFileSync(join(dir, 'index.html'), 'utf8'), /id="loss-reasons-unknown">Why the 2 lost deliveries were lost is unknown/);
});
