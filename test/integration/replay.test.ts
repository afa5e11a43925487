/**
 * Record and replay: a run writes what each user did (events.ndjson.gz); `imload replay`
 * re-issues exactly that against a fresh server — same sends, same order, relative timing kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { replayCommand } from '../../src/commands/replay.js';
import { readRecording, type RecordedEvent } from '../../src/metrics/recording.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

/** Per user, the sends in order (what was sent to whom), without the times. */
function sends(byUser: Map<number, RecordedEvent[]>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [user, events] of byUser) {
    out.set(
      user,
      events.flatMap((e) => (e.k === 'message' ? [`message ${e.to}`] : e.k === 'say' ? [`say ${e.ch}`] : e.k === 'presence' ? [`presence ${e.state}`] : [])),
    );
  }
  return out;
}

test('a recorded run replayed against a fresh server sends the same messages in the same order', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  recorded:
    target: chat
    seed: 5
    timeScale: 900
    population: { users: 30, channels: { count: 3 } }
    phases:
      - { phase: rampUp, rate: 30 }
      - { phase: hold, duration: 10s }
    behaviour: { activityStart: rampUpEnd, activityDelay: 2s }
`);
  const original = join(dir, 'original');
  const { result } = await runCommand({ file, scenario: 'recorded', lab: true, quiet: true, out: original, signal: new AbortController().signal });
  const recorded = await readRecording(join(original, 'events.ndjson.gz'));
  const recordedSends = sends(recorded);
  const total = [...recordedSends.values()].reduce((n, list) => n + list.length, 0);
  // Besides the users, the workers' `stop` records (u: -1).
  assert.equal([...recorded.keys()].filter((u) => u >= 0).length, 30, 'every user is in the recording');
  assert.ok(total > 20, `the run sent something to replay (${total})`);
  assert.equal(total, result.summary.messages.sent + result.summary.messages.channelSent);

  const replayed = join(dir, 'replay');
  const exitCode = await replayCommand(original, { lab: true, quiet: true, out: replayed, speed: 2, signal: new AbortController().signal });
  assert.ok(exitCode === 0 || exitCode === 99, `replay ran (exit ${exitCode})`);
  const again = await readRecording(join(replayed, 'events.ndjson.gz'));
  assert.deepEqual(sends(again), recordedSends, 'the same sends by the same users in the same order');
  // Relative timing kept, at twice the speed: each user's first send comes at about half its recorded time.
  for (const [user, events] of recorded) {
    const first = events.find((e) => e.k === 'message' || e.k === 'say');
    const replayedFirst = again.get(user)!.find((e) => e.k === 'message' || e.k === 'say');
    if (!first || !replayedFirst) continue;
    assert.ok(Math.abs(replayedFirst.t - first.t / 2) < 1500, `user ${user}: ${first.t} ms recorded, ${replayedFirst.t} ms replayed at 2x`);
  }
});
