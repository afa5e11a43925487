/**
 * A bug that escapes a callback inside a worker (here a user script's timer; in CI once an
 * agent's socket handler) ends the run as failed with exit 4, naming the error, and the run keeps
 * what it measured: outputs written, users logged off rather than dropped with the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { EXIT } from '../../src/exit-codes.js';
import { requireBinary } from '../helpers/require.js';

/** Runs a fixture's scenario on the lab's InspIRCd, writing its outputs to a fresh folder. */
function runFixture(fixture: string, scenario: string, workers?: number) {
  const out = join(mkdtempSync(join(tmpdir(), 'imload-bug-')), 'run');
  const run = runCommand({ file: `test/fixtures/${fixture}`, scenario, lab: true, quiet: true, out, workers, signal: new AbortController().signal });
  return { out, run };
}

test('an exception escaping a worker callback fails the run, named, with its outputs kept', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { out, run } = runFixture('script-bug.mjs', 'buggy', 2);
  const { exitCode, result } = await run;
  const s = result.summary;
  assert.equal(result.reason, 'failed');
  assert.equal(exitCode, EXIT.internalError);
  assert.match(s.end.detail ?? '', /^internal-error: worker [01]: Error: script bug in a timer$/);
  assert.equal(s.users.peakOnline, 4, 'everyone was online before the bug, and that was measured');
  assert.ok(s.durationSeconds < 20, `the run stopped at the failure, not at its planned 31 s: ${s.durationSeconds} s`);
  assert.equal(s.users.logoffs, 4, 'the workers logged their users off');
  for (const output of ['index.html', 'summary.json', 'junit.xml']) assert.ok(existsSync(join(out, output)), `${output} written`);
});

test('an exception escaping a worker while the run stops fails the run too; a thrown non-Error is named', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { exitCode, result } = await runFixture('script-bug-at-stop.mjs', 'buggy-at-stop').run;
  assert.equal(result.reason, 'failed', 'every planned second ran, but a worker failed after them');
  assert.equal(exitCode, EXIT.internalError);
  // The fixture throws a string: it is reported as an Error of that text, not as "undefined".
  assert.match(result.summary.end.detail ?? '', /^internal-error: worker 0: Error: script bug while stopping$/);
  assert.equal(result.summary.users.peakOnline, 2);
});
