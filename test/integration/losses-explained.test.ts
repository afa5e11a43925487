/**
 * Every lost delivery explained, on a real server: a modest chat load (IMs, channel messages, an
 * auditorium) against the lab's InspIRCd, neither host nor generator saturated. Every invariant
 * holds, the events file accounts for every expected delivery, and the server dropped nothing:
 * any loss has a recorded event that explains it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { journalUntil } from '../helpers/journal.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const SCENARIO = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  it:
    target: chat
    seed: 23
    timeScale: 240
    population:
      users: 120
      channels: { count: 4, perUser: { min: 1, max: 2 } }
      auditoriums: [{ name: '#stage', presenters: 2, listeners: 0.5 }]
    phases:
      - { phase: rampUp, rate: 60 }
      - { phase: hold, duration: 12s }
      - { phase: rampDown, rate: 120 }
    behaviour:
      messagesPerHour: 4
      channelMessagesPerHour: 3
      presenterMessagesPerHour: 20
      activityStart: rampUpEnd
      activityDelay: 2s
`;

test('a modest chat load on InspIRCd: every invariant holds and every lost delivery is explained (none dropped by the server)', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(SCENARIO);
  const out = join(dir, 'run');
  const { exitCode, result } = await runCommand({ file, scenario: 'it', lab: true, quiet: true, out, workers: 1, signal: new AbortController().signal });
  const s = result.summary;
  assert.equal(s.generator.bottleneck, false, `the generator was not saturated: ${s.generator.reasons.join('; ')}`);
  const broken = s.invariants.filter((i) => i.holds !== true);
  assert.deepEqual(broken, [], 'every invariant holds');
  assert.equal(exitCode, 0);
  const d = s.outcomes.deliveries;
  assert.equal(d.source, 'events', 'the events file was matched, send by send');
  assert.ok(s.messages.sent > 20 && s.messages.channelSent > 20, `sent ${s.messages.sent} IM, ${s.messages.channelSent} channel`);
  assert.ok(d.expected > s.messages.sent + s.messages.channelSent, 'channel fan-out: more deliveries than sends');
  assert.equal(d.delivered + d.lost + d.cancelled, d.expected);
  assert.equal(d.lostByReason!['dropped-by-server'], 0, `dropped by the server: ${JSON.stringify(d.examples)}`);
  const lines = readFileSync(join(out, 'losses.ndjson'), 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, d.lost + d.cancelled, 'losses.ndjson lists every missed delivery');
  assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /<section id="outcomes">/);
});

test('the same load interrupted mid-hold: every invariant still holds, deliveries cut off by the stop are cancelled, none dropped', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(SCENARIO);
  const out = join(dir, 'run');
  const controller = new AbortController();
  let sent = 0;
  // Stop once messages are flowing: sends and deliveries are in flight at the stop.
  const stopped = journalUntil(join(out, 'journal.ndjson'), 0, (second) => (sent += second.counters.channelMessagesSent ?? 0) >= 20, 60_000).then(() => controller.abort());
  const { exitCode, result } = await runCommand({ file, scenario: 'it', lab: true, quiet: true, out, workers: 1, signal: controller.signal });
  await stopped;
  const s = result.summary;
  assert.equal(s.end.reason, 'interrupted');
  assert.deepEqual(s.invariants.filter((i) => i.holds !== true), [], 'every invariant holds');
  assert.equal(exitCode, 130);
  const d = s.outcomes.deliveries;
  assert.equal(d.source, 'events');
  assert.equal(d.delivered + d.lost + d.cancelled, d.expected);
  assert.equal(d.lostByReason!['dropped-by-server'], 0, `dropped by the server: ${JSON.stringify(d.examples)}`);
  assert.equal(readFileSync(join(out, 'losses.ndjson'), 'utf8').split('\n').filter(Boolean).length, d.lost + d.cancelled);
});
