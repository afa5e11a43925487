/**
 * RVP load end to end through the engine (`runCommand` with `lab: true`): the lab starts our
 * reference server — combined, or a router with 2 home servers and Digest authentication —
 * provisioned with the scenario's users; 300 VUs with 20 contacts log on, send IMs and change
 * presence on their schedule, and log off. Every IM reaches its recipient exactly once, every
 * presence change reaches every watcher the schedule expects, and the server's own online count
 * matches imload's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 300;
const PASSWORD_ENV = 'IMLOAD_RVP_ENGINE_TEST_PASSWORD';
/**
 * Activity starts this long after the last scheduled logon. The schedule counts a watcher as
 * expecting a change once its activity window opened; a watcher whose logon is still running
 * then subscribes after the change and gets the new state as its initial state instead. On a
 * busy shared machine logons took up to 7 s, so the margin is wide, and checked below.
 */
const ACTIVITY_DELAY_S = 10;

function imScenario(lab: 'rvp' | 'rvp-cluster', withPassword: boolean): string {
  const password = withPassword ? `, password: { env: ${PASSWORD_ENV} }` : '';
  return `version: 1
targets:
  im: { url: rvp://127.0.0.1:8080, lab: ${lab}, domain: im.example.com${password} }
scenarios:
  it:
    target: im
    limits: exchange2000-im
    seed: 23
    timeScale: 240
    population:
      users: ${USERS}
      contacts: 20
    phases:
      - { phase: rampUp, rate: 50 }
      - { phase: hold, duration: 24s }
      - { phase: rampDown, rate: 200 }
    behaviour:
      messagesPerHour: 3
      presenceChangesPerHour: 2
      activityStart: rampUpEnd
      activityDelay: ${ACTIVITY_DELAY_S}s
    thresholds:
      - messages.lost == 0
      - errors.count == 0
`;
}

for (const setup of [
  { name: 'the combined server', lab: 'rvp' as const, auth: false },
  { name: 'a router and 2 home servers with Digest authentication', lab: 'rvp-cluster' as const, auth: true },
]) {
  test(`RVP load through the engine against ${setup.name}: exact delivery and presence, server count`, { timeout: 180_000 }, async () => {
    if (setup.auth) process.env[PASSWORD_ENV] = 'engine-test-secret';
    const { file, dir } = writeScenario(imScenario(setup.lab, setup.auth));
    const { exitCode, result } = await runCommand({
      file,
      scenario: 'it',
      lab: true,
      quiet: true,
      out: join(dir, 'run'),
      workers: 2,
      signal: new AbortController().signal,
    });
    const s = result.summary;
    assert.equal(result.reason, 'completed');
    assert.equal(s.users.peakOnline, USERS, 'every user was online at once');
    assert.equal(s.users.logonOk, USERS);
    assert.equal(s.latency.register.count, USERS, 'every logon timed its login SUBSCRIBE');
    assert.ok(s.latency.register.p50 <= s.latency.logon.p50, 'the login SUBSCRIBE is part of the logon');
    assert.equal(s.users.logoffs, USERS, 'every user logged off cleanly');
    assert.equal(s.latency.logon.count, USERS);
    assert.ok(
      s.latency.logonDelay.max + s.latency.logon.max < ACTIVITY_DELAY_S * 1000,
      `every user was on before activity began (logon waited up to ${s.latency.logonDelay.max} ms and took up to ${s.latency.logon.max} ms)`,
    );

    assert.ok(s.messages.sent > 200, `IMs sent: ${s.messages.sent}`);
    assert.equal(s.messages.undeliverable, 0, 'no recipient was offline: activity runs while everyone is on');
    assert.equal(s.messages.expected, s.messages.sent, 'every IM was accepted (DeepOr: a callback answered)');
    assert.equal(s.messages.delivered, s.messages.expected, 'every IM reached its recipient');
    assert.equal(s.messages.duplicates, 0);
    assert.equal(s.messages.misrouted, 0);
    assert.equal(s.latency.delivery.count, s.messages.delivered, 'a latency was recorded for every delivery');
    assert.ok(s.latency.delivery.p99 < 5000, `delivery p99 ${s.latency.delivery.p99} ms`);

    assert.ok(s.presence.changes > 100, `presence changes: ${s.presence.changes}`);
    assert.ok(s.presence.expected > s.presence.changes, 'each change has several watchers');
    assert.equal(s.presence.seen, s.presence.expected, 'every watcher saw every change the schedule expected');
    assert.equal(s.latency.presence.count, s.presence.seen);
    // Each contact SUBSCRIBE answers the contact's current state: reported, but not as propagation.
    assert.ok(s.presence.initialStates >= USERS * 10, `initial states: ${s.presence.initialStates}`);

    assert.ok(s.bandwidth.bytesIn > 0 && s.bandwidth.bytesOut > 0 && s.bandwidth.kbpsPerUser > 0);
    assert.deepEqual(s.errors.byKind, {});
    assert.ok(s.crossCheck, 'the server was asked for its own count');
    assert.equal(s.crossCheck.imloadOnline, USERS);
    assert.equal(s.crossCheck.serverOnline, USERS, `the server says ${s.crossCheck.serverOnline} (${s.crossCheck.source})`);
    assert.equal(exitCode, 0, 'thresholds passed');
  });
}
