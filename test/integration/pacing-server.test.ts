/**
 * A server that paces registrations (issue 16.3, issue 15's "a server that paces registrations"):
 * the lab's InspIRCd with its connect throttle (module connflood), which refuses every new user
 * `Throttled` for a while once too many registered within a period. All users are due at once.
 * With `maxInFlight: auto` (the default) the logon window backs off and every user gets on, the
 * throttles counted; with a large fixed window the same scenario keeps running into the lockout:
 * far more logons fail throttled (users get on only by retrying into it), which is what the
 * adaptation is for. (InspIRCd refuses at once rather than letting logons time out, so the
 * failures show as `throttled`, not as timeouts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import type { JournalEntry } from '../../src/metrics/journal.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 60;
/** 20 registrations a second at most, then a lockout (InspIRCd counts in whole seconds). */
const THROTTLE = { maxConnections: 20, periodSeconds: 1, timeoutSeconds: 1 };

function scenario(url: string, maxInFlight: string | undefined): string {
  return `version: 1
targets:
  chat: { url: ${url} }
scenarios:
  paced:
    target: chat
    seed: 16
    population: { users: ${USERS}, contacts: 0, channels: { count: 0 } }
    phases:
      - { phase: rampUp, rate: 1000${maxInFlight ? `, maxInFlight: ${maxInFlight}` : ''} }
      - { phase: hold, duration: 15s }
      - { phase: rampDown, rate: 1000 }
    behaviour:
      messagesPerHour: 0
      channelMessagesPerHour: 0
      logonTimeout: 5s
      # reconnect stays disabled: a throttled logon is retried all the same, with this backoff.
      reconnect: { maxAttempts: 5, initialDelay: 1s, maxDelay: 4s }
`;
}

async function runAgainstPacingServer(maxInFlight: string | undefined) {
  const server = await startInspircd({ throttle: THROTTLE });
  try {
    const { file, dir } = writeScenario(scenario(server.url, maxInFlight));
    const out = join(dir, 'run');
    const { result } = await runCommand({ file, scenario: 'paced', quiet: true, out, workers: 1, signal: new AbortController().signal });
    const counters: Record<string, number> = {};
    for (const line of readFileSync(join(out, 'journal.ndjson'), 'utf8').trim().split('\n')) {
      const entry = JSON.parse(line) as JournalEntry;
      if (entry.type === 'second') for (const [name, n] of Object.entries(entry.counters)) counters[name] = (counters[name] ?? 0) + (n ?? 0);
    }
    return { s: result.summary, counters };
  } finally {
    await server.stop();
  }
}

test('a server that paces registrations: maxInFlight auto gets every user on; a large fixed window keeps hitting the throttle', { timeout: 180_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;

  const auto = await runAgainstPacingServer(undefined);
  const detail = JSON.stringify({ users: auto.s.users, errors: auto.s.errors.byKind, counters: auto.counters, notes: auto.s.notes.map((n) => n.text) });
  assert.equal(auto.s.users.logonOk, USERS, `every user got on: ${detail}`);
  assert.equal(auto.s.users.peakOnline, USERS, detail);
  assert.ok((auto.counters.logonPushbacks ?? 0) > 0, `the server did throttle, and it was counted: ${detail}`);
  assert.ok((auto.counters.logonWindowCuts ?? 0) > 0, `the window adapted: ${detail}`);
  assert.equal(auto.s.errors.byKind.throttled, auto.s.users.logonFailures, `every failed attempt was a throttle, named as such: ${detail}`);
  assert.equal(auto.counters.logonPushbacks, auto.s.users.logonFailures, detail);
  assert.ok(auto.s.notes.some((n) => /worker 0: the server pushed back on \d+ logon attempts .* cut \d+ times .*: min \d+, mean [\d.]+/.test(n.text)), detail);
  // No coordinated omission: the wait for a slot is part of each logon's latency, so pacing shows as slowness.
  assert.equal(auto.s.latency.logon.count, USERS);
  assert.ok(auto.s.latency.logon.max >= auto.s.latency.logonDelay.max, `logon ${auto.s.latency.logon.max} ms includes the wait ${auto.s.latency.logonDelay.max} ms`);
  assert.ok(auto.s.latency.logon.p95 > 1000, `a paced server shows as slow: logon p95 ${auto.s.latency.logon.p95} ms`);
  t.diagnostic(`auto logon latency: ${JSON.stringify(auto.s.latency.logon)}; wait before connecting: ${JSON.stringify(auto.s.latency.logonDelay)}`);

  const fixed = await runAgainstPacingServer(String(USERS));
  const fixedDetail = JSON.stringify({ users: fixed.s.users, errors: fixed.s.errors.byKind, counters: fixed.counters });
  t.diagnostic(`auto: ${detail}`);
  t.diagnostic(`fixed: ${fixedDetail}`);
  assert.equal(fixed.counters.logonWindowCuts ?? 0, 0, 'a fixed window never adapts');
  assert.equal(fixed.counters.logonPushbacks, fixed.s.users.logonFailures, 'its throttles are counted all the same');
  // Both meet the first burst's throttle (nothing is known before it); only the fixed window keeps hitting it.
  assert.ok(
    fixed.s.users.logonFailures >= 2 * auto.s.users.logonFailures,
    `a fixed window of ${USERS} fails far more logons: ${fixed.s.users.logonFailures} vs ${auto.s.users.logonFailures} (${fixedDetail})`,
  );
});
