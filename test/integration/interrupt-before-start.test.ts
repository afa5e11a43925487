/**
 * A Ctrl-C while the workers are still loading (before the run's clock starts: a second or more,
 * much more for tens of thousands of users a worker) stops the run there: interrupted, nobody
 * logged on, the journal and the summary written. The abort listener used to be added only once
 * the clock had started, so a signal that came earlier was never heard and the run went on to
 * its end.
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

test('interrupted before the clock started: the run ends interrupted at once, with nobody logged on and its outputs written', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  early:
    target: chat
    population: { users: 20, channels: { count: 0 } }
    behaviour: { messagesPerHour: 0 }
    phases:
      - { phase: rampUp, rate: 100 }
      - { phase: hold, duration: 2m }
`);
  const out = join(dir, 'run');
  // Aborted before the run begins: the earliest a Ctrl-C can come, certainly before the workers are ready.
  const controller = new AbortController();
  controller.abort();
  const started = performance.now();
  const { exitCode, result } = await runCommand({ file, scenario: 'early', lab: true, quiet: true, out, workers: 1, signal: controller.signal });
  const seconds = (performance.now() - started) / 1000;

  assert.equal(result.reason, 'interrupted');
  assert.equal(exitCode, EXIT.interrupted);
  assert.ok(seconds < 30, `stopped at once, not after the 2-minute hold (${seconds.toFixed(1)} s)`);
  const s = result.summary;
  assert.equal(s.users.logonAttempts, 0, 'nobody was scheduled');
  assert.equal(s.users.peakOnline, 0);
  const entries = readFileSync(join(out, 'journal.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as JournalEntry);
  assert.equal(entries[0]!.type, 'header');
  const end = entries.at(-1)!;
  assert.ok(end.type === 'end' && end.reason === 'interrupted', JSON.stringify(end));
  assert.ok(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')), 'summary.json written');
});
