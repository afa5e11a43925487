/**
 * A server that dies mid-run: users notice, the errors show by kind, and with reconnect on they
 * come back (exponential backoff with jitter) once the server is restarted on the same port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import { freePort } from '../../src/lab/ports.js';
import type { JournalEntry } from '../../src/metrics/journal.js';
import { requireBinary } from '../helpers/require.js';
import { journalShows, journalUntil } from '../helpers/journal.js';
import { writeScenario } from '../helpers/scenario.js';


test('users reconnect with backoff after the server is killed and restarted', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const users = 30;
  const port = await freePort();
  let server = await startInspircd({ port });
  const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: irc://127.0.0.1:${port} }
scenarios:
  faults:
    target: chat
    timeScale: 600
    population: { users: ${users}, channels: { count: 3 } }
    phases:
      - { phase: rampUp, rate: 30 }
      - { phase: hold, duration: 5m }
    behaviour:
      reconnect: { enabled: true, maxAttempts: 10, initialDelay: 500ms, maxDelay: 3s }
`);
  const out = join(dir, 'run');
  const journal = join(out, 'journal.ndjson');
  const controller = new AbortController();
  let restartedAt = 0;
  const run = runCommand({ file, scenario: 'faults', quiet: true, out, signal: controller.signal });
  try {
    const allOnline = await journalShows(journal, 0, (online) => online === users, 30_000);
    await server.stop();
    const allGone = await journalShows(journal, allOnline, (online) => online === 0, 15_000);
    // The server stays down until every user's first two retries were refused, so the retries
    // that follow come from backoff and jitter, not from how fast InspIRCd happens to restart.
    let refused = 0;
    restartedAt = await journalUntil(journal, allGone, (second) => (refused += second.counters.logonFailed ?? 0) >= 2 * users, 30_000);
    server = await startInspircd({ port });
    await journalShows(journal, restartedAt, (online) => online === users, 45_000);
  } finally {
    controller.abort();
  }
  const { result } = await run;
  await server.stop();
  const s = result.summary;
  assert.equal(s.users.disconnects, users, 'every user saw its connection drop');
  // Each loss is counted once: under server-error when InspIRCd's ERROR ("Server shutting down")
  // arrived before the close, under connection-reset when the reset beat it (or a write met the
  // closed socket: EPIPE, seen once in a full run, was socket-error until then).
  const byKind = s.errors.byKind;
  assert.equal((byKind['server-error'] ?? 0) + (byKind['connection-reset'] ?? 0), users, JSON.stringify(byKind));
  assert.equal(byKind['unexpected-close'], undefined, JSON.stringify(byKind));
  assert.ok(s.users.reconnects >= users, `reconnects: ${s.users.reconnects}`);
  assert.ok(s.users.logonOk >= 2 * users, `everyone logged on twice: ${JSON.stringify(s.users)}`);
  assert.equal(s.end.reason, 'interrupted');
  // Backoff with jitter: the retries are spread out, not a herd in one instant (each user's
  // retries are counted when scheduled: at the loss, then after each refused attempt).
  const entries = readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as JournalEntry);
  const retrySeconds = entries.filter((e) => e.type === 'second' && (e.counters.reconnects ?? 0) > 0).length;
  assert.ok(retrySeconds >= 2, `reconnect attempts spread over ${retrySeconds} second(s)`);
  // Jitter, not only backoff: the users come back over more than one second after the restart
  // (the same delay for everyone would bring them back in one burst).
  const comebackSeconds = entries.slice(restartedAt).filter((e) => e.type === 'second' && (e.counters.logonOk ?? 0) > 0).length;
  assert.ok(comebackSeconds >= 2, `users came back within ${comebackSeconds} second(s)`);
});

test('scenario faults: the lab kills and restarts the server; the summary shows the outage and the recovery', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const users = 25;
  const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  outage:
    target: chat
    timeScale: 600
    population: { users: ${users}, channels: { count: 2 } }
    phases:
      - { phase: rampUp, rate: 25 }
      - { phase: hold, duration: 25s }
    behaviour:
      reconnect: { enabled: true, maxAttempts: 10, initialDelay: 500ms, maxDelay: 2s }
    faults:
      - { at: 6s, kill: chat, restartAfter: 4s }
`);
  const { result } = await runCommand({ file, scenario: 'outage', lab: true, quiet: true, out: join(dir, 'run'), signal: new AbortController().signal });
  const { events, outages } = result.summary.faults;
  assert.deepEqual(events.map((e) => [e.action, e.ok]), [['kill', true], ['restart', true]]);
  assert.equal(outages.length, 1);
  const outage = outages[0]!;
  assert.equal(outage.onlineBefore, users);
  assert.equal(outage.lowestOnline, 0, 'everyone was cut off');
  assert.equal(outage.usersBack, users, 'everyone came back');
  assert.ok(outage.recoverySeconds !== null && outage.recoverySeconds < 10, `recovered in ${outage.recoverySeconds} s`);
  assert.equal(result.summary.crossCheck?.serverOnline, users, 'the restarted server counts everyone again');
});
