/**
 * A threshold aborts the run while most logons still wait for a `maxInFlight` slot (issue 15,
 * "Crash on abort": the run failed with `write after end`). The run ends aborted, and every user
 * and every attempt has exactly one outcome: logged on, failed or cancelled, or never started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import type { JournalEntry } from '../../src/metrics/journal.js';
import { EXIT } from '../../src/exit-codes.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 300;

test('an abort while logons wait for a slot: aborted, not failed, and every logon and logoff has one outcome', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  // Every logon is due within 0.3 s, two at a time: when the threshold fails (at the first
  // second, once anyone is online) most users are still queued behind those two.
  const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  queued:
    target: chat
    population: { users: ${USERS}, channels: { count: 0 } }
    behaviour: { messagesPerHour: 0 }
    phases:
      - { phase: rampUp, rate: 1000, maxInFlight: 2 }
      - { phase: hold, duration: 5m }
    thresholds:
      - { check: users.peakOnline < 1, abortOnFail: true, delayAbortEval: 0s }
`);
  const out = join(dir, 'run');
  const { exitCode, result } = await runCommand({ file, scenario: 'queued', lab: true, quiet: true, out, workers: 1, signal: new AbortController().signal });

  assert.equal(result.reason, 'aborted', result.summary.end.detail);
  assert.notEqual(exitCode, EXIT.internalError);
  assert.equal(exitCode, EXIT.thresholdsFailed);
  const totals = result.aggregate.totals;
  assert.ok(totals.logonOk > 0, 'some users logged on before the abort');
  assert.ok(totals.logonsNotStarted > 0, 'some logons were still queued at the abort');
  assert.equal(totals.logonAttempts, totals.logonOk + totals.logonFailed + totals.logonCancelled, 'each logon attempt has one outcome');
  assert.equal(totals.logonFailed, 0, 'the lab server refused nobody');
  assert.equal(totals.logonAttempts + totals.logonsNotStarted, USERS, 'each user made one attempt or never started');
  assert.equal(totals.logoffAttempts, totals.logoffs + totals.logoffsFailed + totals.logoffsCutOff, 'each logoff attempt has one outcome');
  assert.equal(totals.logoffAttempts, totals.logonOk, 'every user online at the abort logged off');
  assert.deepEqual(result.aggregate.errors, {}, 'the stop cut the logons in flight: teardown, not server errors');
  assert.equal(result.aggregate.teardown['logon-cancelled'] ?? 0, totals.logonCancelled);

  const seconds = readFileSync(join(out, 'journal.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as JournalEntry).filter((e) => e.type === 'second');
  assert.equal(seconds.at(-1)!.online, 0, 'nobody is left online at the end');
});
