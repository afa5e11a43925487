/**
 * A run interrupted while its IRC server is frozen (InspIRCd stopped with SIGSTOP mid-hold, with
 * sends on the wire that it will never acknowledge): every logon, logoff and send still ends in
 * exactly one outcome, and what imload's own stop cut off is teardown, not server errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { readRecording } from '../../src/metrics/recording.js';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import { journalShows, journalUntil } from '../helpers/journal.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 30;
const SLOTS = 5;

test('IRC server frozen mid-hold, run interrupted: one outcome per attempt, teardown apart from errors', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const server = await startInspircd();
  let frozen = false;
  t.after(async () => {
    if (frozen) process.kill(server.pid, 'SIGCONT');
    await server.stop();
  });
  const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: ${server.url} }
scenarios:
  frozen:
    target: chat
    seed: 11
    timeScale: 1200
    population: { users: ${USERS}, channels: { count: 3 } }
    phases:
      - { phase: rampUp, rate: 30 }
      - { phase: hold, duration: 5m }
      - { phase: rampDown, rate: 100, maxInFlight: ${SLOTS} }
`);
  const out = join(dir, 'run');
  const journal = join(out, 'journal.ndjson');
  const abort = new AbortController();
  const running = runCommand({ file, scenario: 'frozen', quiet: true, out, workers: 1, signal: abort.signal });
  const online = await journalShows(journal, 0, (n) => n === USERS, 30_000);
  let delivered = 0;
  const flowing = await journalUntil(journal, online, (second) => (delivered += second.counters.deliveriesReceived ?? 0) > 0, 20_000);
  process.kill(server.pid, 'SIGSTOP');
  frozen = true;
  // Wait for a second in which users sent to the frozen server: those sends are on the wire
  // (their acknowledgement never comes) when the run stops.
  await journalUntil(journal, flowing, (second) => (second.counters.messagesSent ?? 0) + (second.counters.channelMessagesSent ?? 0) > 0, 20_000);
  abort.abort();
  const { result } = await running;

  assert.equal(result.reason, 'interrupted');
  const totals = result.aggregate.totals;
  assert.equal(totals.logonAttempts, totals.logonOk + totals.logonFailed + totals.logonCancelled, 'logon outcomes');
  assert.equal(totals.logoffAttempts, totals.logoffs + totals.logoffsFailed + totals.logoffsCutOff, 'logoff outcomes');
  assert.equal(totals.logoffAttempts, USERS, 'everyone online was asked to log off');
  assert.equal(totals.logoffs, 0, 'the frozen server completed no logoff');
  assert.ok(totals.sendsCancelled > 0, 'sends on the wire at the stop were cancelled');

  // Each send, by its seq, has exactly one outcome in events.ndjson.gz, and the counters agree.
  const recording = await readRecording(join(out, 'events.ndjson.gz'));
  let sends = 0;
  let accepted = 0;
  let expected = 0;
  for (const [user, events] of recording) {
    const outcomes = new Map<number, number>();
    for (const e of events) if (e.k === 'message' || e.k === 'say') outcomes.set(e.seq!, 0);
    for (const e of events) {
      if (e.k !== 'sent' && e.k !== 'send-failed') continue;
      outcomes.set(e.seq, (outcomes.get(e.seq) ?? 0) + 1);
      if (e.k === 'sent') {
        accepted++;
        expected += e.n;
      }
    }
    for (const [seq, count] of outcomes) assert.equal(count, 1, `user ${user}: send ${seq} has ${count} outcomes`);
    sends += outcomes.size;
  }
  assert.equal(totals.messagesSent + totals.channelMessagesSent, sends);
  assert.equal(sends, accepted + totals.sendsFailed + totals.undeliverable + totals.sendsCancelled, 'send outcomes');
  assert.equal(totals.deliveriesExpected, expected, 'deliveries expected only for accepted sends');

  // Nothing failed before the stop; what the stop cut off or timed out is teardown: the frozen
  // server reports nothing else, so the teardown kinds add up to those outcomes exactly.
  assert.deepEqual(result.aggregate.errors, {});
  const teardown = Object.values(result.aggregate.teardown).reduce((sum, n) => sum + n, 0);
  assert.equal(teardown, totals.sendsCancelled + totals.logoffsFailed + totals.logoffsCutOff + totals.logonCancelled, JSON.stringify(result.aggregate.teardown));
  assert.equal(result.aggregate.teardown['logoff-cut-off'], totals.logoffsCutOff);
  assert.equal(result.aggregate.teardown['logoff-timeout'] ?? 0, totals.logoffsFailed);
});
