/**
 * Presence figures that rest on the standard content alone: our RVP server started with
 * `--notify-state-only` relays `r:state` and nothing else in its presence NOTIFYs, as the
 * draft's examples do, so the stamp imload sets with each change never reaches a watcher. Every
 * change must still be seen by every watcher the schedule expects, its latency measured, and the
 * run must say that the schedule, not a stamp, measured it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { startRvpLab } from '../../src/protocols/rvp/lab.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 60;

test('RVP presence from r:state alone: presence seen equals expected, measured by the schedule', { timeout: 120_000 }, async () => {
  const lab = await startRvpLab({ topology: 'combined', domain: 'im.example.com', userPattern: 'u{index:6}', firstNumber: 1, userCount: USERS, extraArgs: ['--notify-state-only'] });
  try {
    const { file, dir } = writeScenario(`version: 1
targets:
  im: { url: 'rvp://127.0.0.1:${lab.entry.port}', domain: im.example.com }
scenarios:
  it:
    target: im
    seed: 31
    timeScale: 600
    population: { users: ${USERS}, contacts: 10 }
    phases:
      - { phase: rampUp, rate: 30 }
      - { phase: hold, duration: 12s }
      - { phase: rampDown, rate: 200 }
    behaviour:
      messagesPerHour: 0
      presenceChangesPerHour: 4
      activityStart: rampUpEnd
      activityDelay: 6s
`);
    const out = join(dir, 'run');
    const { result } = await runCommand({ file, scenario: 'it', quiet: true, out, signal: new AbortController().signal });
    const s = result.summary;
    assert.equal(result.reason, 'completed', s.end.detail);
    assert.equal(s.users.logonOk, USERS);
    assert.ok(s.presence.changes > 20, `presence changes: ${s.presence.changes}`);
    assert.equal(s.presence.seen, s.presence.expected, 'every watcher saw every change the schedule expected');
    assert.equal(s.latency.presence.count, s.presence.seen);
    const journal = readFileSync(join(out, 'journal.ndjson'), 'utf8');
    assert.match(journal, /presence-method-schedule/, 'the run says the schedule measured presence');
    assert.doesNotMatch(journal, /presence-method-stamp/, 'no stamp reached a watcher');
    assert.deepEqual(s.presence.measuredBy, ['schedule'], 'summary.json says how presence was measured');
  } finally {
    await lab.stop();
  }
});
