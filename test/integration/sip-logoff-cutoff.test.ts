/**
 * A run interrupted while its server has stopped answering (Kamailio stopped with SIGSTOP): the
 * workers' logoffs are bounded three ways, and each is counted as what it is. The first slots'
 * logoffs time out (5 s): failed logoffs, but the stop asked for them, so they are teardown, not
 * server errors (docs/metrics.md § Teardown); the logoffs that got a slot after them are still in
 * progress when the stop's grace (8 s) ends and are cut off, in a note; the rest never got a
 * slot, cut off too, in another note.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { startKamailio } from '../../src/protocols/sip/lab.js';
import type { JournalEntry } from '../../src/metrics/journal.js';
import { journalShows } from '../helpers/journal.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 40;
const SLOTS = 10;

test('logoffs against a server that stopped answering: timed out, cut off at the grace, or never started; teardown, not errors', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const kamailio = await startKamailio();
  let stopped = false;
  t.after(async () => {
    if (stopped) process.kill(-kamailio.pid, 'SIGCONT');
    await kamailio.stop();
  });
  const { file, dir } = writeScenario(`version: 1
targets:
  sip: { url: 'sip://127.0.0.1:${kamailio.udp.port}', transport: udp, domain: ${kamailio.domain} }
scenarios:
  cutoff:
    target: sip
    seed: 4
    population: { users: ${USERS}, contacts: 3 }
    phases:
      - { phase: rampUp, rate: 40 }
      - { phase: hold, duration: 5m }
      - { phase: rampDown, rate: 100, maxInFlight: ${SLOTS} }
    behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 }
`);
  const out = join(dir, 'run');
  const journal = join(out, 'journal.ndjson');
  const abort = new AbortController();
  const running = runCommand({ file, scenario: 'cutoff', quiet: true, out, workers: 1, signal: abort.signal });
  await journalShows(journal, 0, (online) => online === USERS, 30_000);
  // The whole process group (Kamailio's main process and its children): nothing answers now.
  process.kill(-kamailio.pid, 'SIGSTOP');
  stopped = true;
  abort.abort();
  const { result } = await running;

  assert.equal(result.reason, 'interrupted');
  const notes = new Map<string, string>();
  for (const line of readFileSync(journal, 'utf8').split('\n').slice(0, -1)) {
    const entry = JSON.parse(line) as JournalEntry;
    if (entry.type === 'note') notes.set(entry.key, entry.text);
  }
  assert.deepEqual(result.summary.errors.byKind, {}, 'logoffs the stop asked for are not server errors');
  const totals = result.aggregate.totals;
  assert.equal(totals.logoffAttempts, USERS, 'everyone online was asked to log off');
  assert.equal(totals.logoffsFailed, SLOTS, 'the first slots timed out');
  assert.equal(totals.logoffsCutOff, USERS - SLOTS, 'the rest were cut off, on the wire or waiting for a slot');
  assert.deepEqual(result.aggregate.teardown, { 'logoff-timeout': SLOTS, 'logoff-cut-off': USERS - SLOTS });
  assert.match(notes.get('logoffs-interrupted') ?? '', new RegExp(`^${SLOTS} logoffs were still in progress`), 'the next slots were cut off');
  assert.match(notes.get('logoffs-cut-short') ?? '', new RegExp(`^${USERS - 2 * SLOTS} users were still waiting for a logoff slot`));
  assert.equal(result.summary.users.logoffs, 0, 'nobody logged off');
});
