/**
 * SIP load end to end through the engine (`imload run --lab`) against a real Kamailio over UDP,
 * TCP and TLS: users REGISTER, PUBLISH and SUBSCRIBE to 20 contacts, exchange MESSAGEs and
 * presence changes; every MESSAGE arrives exactly once, every scheduled presence change reaches
 * every watcher the schedule has online, and Kamailio's usrloc count matches imload's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const PASSWORD_ENV = 'IMLOAD_TEST_SIP_PASSWORD';

function presenceScenario(url: string, transport: string, users: number, imMode: string): string {
  return `version: 1
targets:
  sip:
    url: ${url}
    ${transport === 'tls' ? '' : `transport: ${transport}`}
    domain: it.test
    lab: kamailio
    password: { env: ${PASSWORD_ENV} }
    options: { imMode: ${imMode} }
scenarios:
  it:
    target: sip
    limits: lcs2005
    seed: 5
    timeScale: 360
    population:
      users: ${users}
      contacts: 20
    phases:
      - { phase: rampUp, rate: 40 }
      - { phase: hold, duration: 16s }
      - { phase: rampDown, rate: 200 }
    behaviour:
      messagesPerHour: 3
      presenceChangesPerHour: 2
      activityStart: rampUpEnd
      activityDelay: 2s
    thresholds:
      - messages.lost == 0
      - errors.count == 0
`;
}

for (const variant of [
  { transport: 'udp', url: 'sip://127.0.0.1:5060', users: 200, imMode: 'pager' },
  { transport: 'tcp', url: 'sip://127.0.0.1:5060', users: 200, imMode: 'pager' },
  { transport: 'tls', url: 'sips://127.0.0.1:5061', users: 120, imMode: 'pager' },
  // LCS 2005's IM pattern: INVITE, MESSAGE in the dialog, BYE through Kamailio's Record-Route.
  { transport: 'udp', url: 'sip://127.0.0.1:5060', users: 120, imMode: 'session' },
  { transport: 'tcp', url: 'sip://127.0.0.1:5060', users: 120, imMode: 'session' },
]) {
  test(`SIP presence and ${variant.imMode} IM through the engine over ${variant.transport}: exact delivery, propagation, usrloc count`, { timeout: 150_000 }, async (t) => {
    if (!requireBinary(t, 'kamailio', 'kamailio')) return;
    process.env[PASSWORD_ENV] = 'it-secret-42';
    const { file, dir } = writeScenario(presenceScenario(variant.url, variant.transport, variant.users, variant.imMode));
    const { exitCode, result } = await runCommand({
      file,
      scenario: 'it',
      lab: true,
      quiet: true,
      out: join(dir, 'run'),
      signal: new AbortController().signal,
    });
    const s = result.summary;
    assert.equal(result.reason, 'completed', s.end.detail);
    assert.equal(s.users.logonOk, variant.users);
    assert.equal(s.latency.register.count, variant.users, 'every logon timed its REGISTER');
    assert.ok(s.latency.register.p50 <= s.latency.logon.p50, 'REGISTER is part of the logon');
    assert.equal(s.users.peakOnline, variant.users, 'every user was online at once');
    assert.deepEqual(s.errors.byKind, {}, 'no errors (retransmissions are counted apart)');

    assert.ok(s.messages.sent > variant.users / 2, `MESSAGEs sent: ${s.messages.sent}`);
    assert.equal(s.messages.expected, s.messages.sent, 'every MESSAGE was accepted (its recipient was online)');
    assert.equal(s.messages.delivered, s.messages.expected, 'every MESSAGE arrived');
    assert.equal(s.messages.duplicates, 0, 'and only once');
    assert.equal(s.latency.delivery.count, s.messages.delivered);

    assert.ok(s.presence.changes > variant.users / 3, `presence changes: ${s.presence.changes}`);
    assert.ok(s.presence.expected > s.presence.changes * 10, `watchers expected: ${s.presence.expected}`);
    assert.equal(s.presence.seen, s.presence.expected, 'every watcher saw every change');
    assert.equal(s.latency.presence.count, s.presence.seen);
    // A subscription's first NOTIFY is the state at logon (counted apart from propagation);
    // it carries a state only for contacts already logged on, about half of them during a ramp.
    assert.ok(s.presence.initialStates > variant.users * 5 && s.presence.initialStates < variant.users * 20, `initial states: ${s.presence.initialStates}`);

    assert.ok(s.crossCheck, 'Kamailio was asked for its own count');
    assert.equal(s.crossCheck.serverOnline, s.crossCheck.imloadOnline, `usrloc says ${s.crossCheck.serverOnline}`);
    assert.equal(s.crossCheck.imloadOnline, variant.users);
    assert.ok(s.bandwidth.bytesIn > 0 && s.bandwidth.bytesOut > 0 && s.bandwidth.kbpsPerUser > 0);
    if (variant.transport !== 'udp') assert.equal(s.retransmissions, 0, 'reliable transports never retransmit');
    assert.equal(exitCode, 0, JSON.stringify(s.thresholds));
  });
}
