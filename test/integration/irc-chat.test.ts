/**
 * Chat load end to end against real InspIRCd and ngIRCd started by the lab: users log on, join
 * channels (one an auditorium), exchange messages; every message reaches every intended
 * recipient exactly once, and the server's own user count matches imload's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

function chatScenario(lab: string, users: number, maxInFlight?: number): string {
  return `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: ${lab} }
scenarios:
  it:
    target: chat
    limits: exchange2000-chat
    seed: 11
    timeScale: 240
    population:
      users: ${users}
      channels: { count: 5, perUser: { min: 1, max: 2 } }
      auditoriums: [{ name: '#stage', presenters: 2, listeners: 0.5 }]
    phases:
      - { phase: rampUp, rate: 100${maxInFlight ? `, maxInFlight: ${maxInFlight}` : ''} }
      - { phase: hold, duration: 16s }
      - { phase: rampDown, rate: 200 }
    behaviour:
      messagesPerHour: 3
      channelMessagesPerHour: 2
      presenterMessagesPerHour: 20
      activityStart: rampUpEnd
      activityDelay: 6s
    thresholds:
      - messages.lost == 0
      - messages.misrouted == 0
      - errors.count == 0
`;
}

for (const server of [
  { lab: 'inspircd', auditorium: /auditorium mode \+u/, maxInFlight: undefined },
  { lab: 'ngircd', auditorium: /emulated by the clients/, maxInFlight: 8 },
]) {
  test(`chat load against real ${server.lab}: exact delivery, latency, bytes, server count`, { timeout: 120_000 }, async (t) => {
    if (!requireBinary(t, server.lab, server.lab)) return;
    const users = 200;
    const { file, dir } = writeScenario(chatScenario(server.lab, users, server.maxInFlight));
    const out = join(dir, 'run');
    const { exitCode, result } = await runCommand({
      file,
      scenario: 'it',
      lab: true,
      quiet: true,
      out,
      workers: 2,
      signal: new AbortController().signal,
    });
    const s = result.summary;
    assert.equal(s.users.peakOnline, users, 'every user was online at once');
    assert.equal(s.users.logonOk, users);
    assert.equal(s.latency.register.count, users, 'every logon timed its NICK/USER to 001');
    assert.ok(s.latency.register.p50 <= s.latency.logon.p50, 'registration is part of the logon');
    assert.equal(s.latency.logon.count, users);
    assert.ok(s.latency.join.count >= users, 'every user joined at least one channel');
    assert.ok(s.messages.sent > 50 && s.messages.channelSent > 50, `messages sent: ${s.messages.sent} IM, ${s.messages.channelSent} channel`);
    assert.ok(s.messages.expected > s.messages.sent, 'channel fan-out makes more deliveries than sends');
    const detail = JSON.stringify({ messages: s.messages, errors: s.errors.byKind, users: s.users, notes: s.notes.map((n) => n.text) });
    assert.equal(s.messages.delivered, s.messages.expected, `every intended recipient got every message: ${detail}`);
    assert.equal(s.messages.duplicates, 0);
    assert.equal(s.messages.misrouted, 0, 'no message reached someone it was not meant for (auditorium listeners included)');
    assert.equal(s.latency.delivery.count, s.messages.delivered, 'a latency was recorded for every delivery');
    assert.ok(s.latency.delivery.p50 > 0 && s.latency.delivery.p99 < 5000);
    assert.ok(s.bandwidth.bytesIn > 0 && s.bandwidth.bytesOut > 0 && s.bandwidth.kbpsPerUser > 0);
    assert.deepEqual(s.errors.byKind, {});
    assert.ok(s.crossCheck, 'the server was asked for its own count');
    assert.equal(s.crossCheck.imloadOnline, users);
    assert.equal(s.crossCheck.serverOnline, users, `LUSERS says ${s.crossCheck.serverOnline}`);
    assert.ok(s.notes.some((n) => server.auditorium.test(n.text)), `auditorium note: ${JSON.stringify(s.notes)}`);
    assert.equal(s.generator.workers, 2);
    assert.equal(exitCode, 0, JSON.stringify(s.thresholds));
    const onDisk = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(onDisk.messages, s.messages);
    const journal = readFileSync(join(out, 'journal.ndjson'), 'utf8').trim().split('\n');
    assert.equal(JSON.parse(journal[0]!).type, 'header');
    assert.equal(JSON.parse(journal.at(-1)!).type, 'end');
  });
}
