/** Outcomes and invariants in summary.json; `imload report` exits 4 naming a broken invariant. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { brokenInvariants, checkInvariants } from '../../src/analysis/invariants.js';
import { deliveriesFromCounters, failureRate, outcomesOf } from '../../src/analysis/outcomes.js';
import { COUNTERS, type CounterName } from '../../src/metrics/names.js';
import { JournalWriter, readJournal, type JournalHeader } from '../../src/metrics/journal.js';
import { buildSummary } from '../../src/analysis/summary.js';
import { EXIT } from '../../src/exit-codes.js';
import { writeSyntheticJournal } from './report-synthetic-journal.js';

function totals(values: Partial<Record<CounterName, number>>): Record<CounterName, number> {
  return Object.fromEntries(COUNTERS.map((c) => [c, values[c] ?? 0])) as Record<CounterName, number>;
}

const CONSISTENT = totals({
  logonAttempts: 10, logonOk: 7, logonFailed: 2, logonCancelled: 1,
  logoffAttempts: 7, logoffs: 5, logoffsFailed: 1, logoffsCutOff: 1,
  deliveriesExpected: 20, deliveriesReceived: 20,
});

function invariantsOf(t: Record<CounterName, number>, ended = true, rates: Record<string, number> = { r: 0.5 }) {
  return checkInvariants({ outcomes: outcomesOf(t, {}, deliveriesFromCounters(t)), ended, countedExpected: t.deliveriesExpected, rates });
}

test('every invariant holds when each attempt has exactly one outcome', () => {
  const invariants = invariantsOf(CONSISTENT);
  assert.deepEqual(invariants.map((i) => [i.name, i.holds]), [
    ['logon-outcomes', true],
    ['logoff-outcomes', true],
    ['delivered-within-expected', true],
    ['delivery-outcomes', true],
    ['rates-are-ratios', true],
  ]);
  assert.deepEqual(brokenInvariants(invariants), []);
});

test('a logon attempt without an outcome breaks logon-outcomes, and it is listed with its figures', () => {
  const broken = brokenInvariants(invariantsOf({ ...CONSISTENT, logonAttempts: 11 }));
  assert.deepEqual(broken.map((i) => i.name), ['logon-outcomes']);
  assert.deepEqual(broken[0]!.figures, { attempts: 11, ok: 7, failed: 2, cancelled: 1 });
});

test('a logoff attempt without an outcome breaks logoff-outcomes', () => {
  assert.deepEqual(brokenInvariants(invariantsOf({ ...CONSISTENT, logoffsCutOff: 0 })).map((i) => i.name), ['logoff-outcomes']);
});

test('a rate above 1 (or below 0) breaks rates-are-ratios, naming the rate', () => {
  const broken = brokenInvariants(invariantsOf(CONSISTENT, true, { 'errors.rate': 6, 'messages.lossRate': 0 }));
  assert.deepEqual(broken.map((i) => i.name), ['rates-are-ratios']);
  assert.match(broken[0]!.note!, /errors\.rate = 6/);
});

test('delivery outcomes: a shortfall the events explain neither as lost nor cancelled breaks delivery-outcomes; delivered > expected breaks the bound', () => {
  const d = { ...deliveriesFromCounters(CONSISTENT), lost: 0, delivered: 19 };
  const outcomes = outcomesOf(CONSISTENT, {}, d);
  assert.deepEqual(brokenInvariants(checkInvariants({ outcomes, ended: true, countedExpected: 20, rates: {} })).map((i) => i.name), ['delivery-outcomes']);
  const over = outcomesOf(CONSISTENT, {}, { ...d, delivered: 21, lost: -1 });
  assert.deepEqual(brokenInvariants(checkInvariants({ outcomes: over, ended: true, countedExpected: 20, rates: {} })).map((i) => i.name), ['delivered-within-expected']);
});

test('a killed run (no end record): attempts in flight have no outcome, so those sums are not judged', () => {
  const invariants = invariantsOf({ ...CONSISTENT, logonAttempts: 11 }, false);
  assert.equal(invariants.find((i) => i.name === 'logon-outcomes')!.holds, null);
  assert.match(invariants.find((i) => i.name === 'logon-outcomes')!.note!, /no end record/);
  assert.deepEqual(brokenInvariants(invariants), []);
});

test('counters with more receipts than expected deliveries: delivered stays within expected, the rest is unexpected', () => {
  const d = deliveriesFromCounters(totals({ deliveriesExpected: 100, deliveriesReceived: 103 }));
  assert.deepEqual([d.expected, d.delivered, d.unexpected, d.lost, d.lostByReason], [100, 100, 3, 0, null]);
});

function journalWith(extra: Partial<Record<CounterName, number>>, errors: Record<string, number> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'imload-invariants-'));
  const path = join(dir, 'journal.ndjson');
  const header = writeSyntheticJournal({ path, seconds: 12, users: 20, rampSeconds: 4 });
  new JournalWriter(path).append({ type: 'second', t: 13, at: header.startEpochMs + 13_000, phase: 'stopping', online: 0, counters: extra, errors, histograms: {}, health: [] });
  return dir;
}

test('errors.rate is failed attempts over attempts: 60 timeout errors over 10 failed logons read 1, not 6', () => {
  // A SIP/UDP target with nothing listening: every logon fails, each after several timeouts.
  const [header] = readJournal(join(journalWith({}), 'journal.ndjson'));
  const h = header as JournalHeader;
  const { summary } = buildSummary([
    h,
    { type: 'second', t: 1, at: h.startEpochMs + 1000, phase: 'rampUp', online: 0, counters: { logonAttempts: 10, logonFailed: 10, errors: 60 }, errors: { 'logon-timeout': 10, 'retransmission-timeout': 50 }, histograms: {}, health: [] },
    { type: 'end', at: h.startEpochMs + 2000, reason: 'completed' },
  ]);
  assert.equal(summary.errors.total, 60);
  assert.equal(summary.errors.rate, 1);
  assert.equal(summary.invariants.find((i) => i.name === 'rates-are-ratios')!.holds, true);
});

test('errors.rate leaves out logoffs the stop asked for that failed (teardown), and keeps scheduled ones', () => {
  // 10 logons and 10 logoffs; 4 logoffs failed, 3 of them in the stop's mass logoff.
  const t = totals({ logonAttempts: 10, logonOk: 10, logoffAttempts: 10, logoffs: 6, logoffsFailed: 4, logoffsFailedAtStop: 3 });
  assert.equal(failureRate(t), 1 / 20);
});

test('`imload report` on a journal whose counters break an invariant names it on stderr, exits 4, and still writes every output', () => {
  const dir = journalWith({ logonAttempts: 3 });
  const run = spawnSync(process.execPath, ['bin/imload.js', 'report', dir], { encoding: 'utf8' });
  assert.equal(run.status, EXIT.internalError, run.stderr);
  assert.match(run.stderr, /invariant broken — a bug in imload/);
  assert.match(run.stderr, /logon-outcomes: every logon attempt ended in exactly one outcome.*attempts 23, ok 20, failed 0, cancelled 0/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  for (const file of ['summary.json', 'index.html', 'summary.md', 'junit.xml']) assert.ok(existsSync(join(dir, file)), file);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.invariants.find((i: { name: string }) => i.name === 'logon-outcomes').holds, false);
  assert.equal(summary.outcomes.deliveries.source, 'counters', 'no events file: the reasons are unknown');
});

test('`imload report` on a consistent journal exits 0', () => {
  const dir = journalWith({});
  const run = spawnSync(process.execPath, ['bin/imload.js', 'report', dir], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /invariant/);
});

test('a run whose workers failed before its clock started lasted 0 s, not a negative time', () => {
  // The header's clock is set once the workers are ready or one failed: a failed start ends before it.
  const [header] = readJournal(join(journalWith({}), 'journal.ndjson'));
  const h = header as JournalHeader;
  const { summary } = buildSummary([h, { type: 'end', at: h.startEpochMs - 800, reason: 'failed', detail: 'worker-error: no such protocol' }]);
  assert.equal(summary.durationSeconds, 0);
  assert.equal(summary.end.reason, 'failed');
});
