/**
 * Host and server sampling on a real lab server (InspIRCd, 60 users, a few seconds): every
 * journaled second carries the host's CPU and the server's CPU and memory, and they are
 * plausible — the server worked under load, and the host was at least as busy as the server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { readJournal, type JournalSecond } from '../../src/metrics/journal.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const SCENARIO = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  busy:
    description: 60 chat users talking for 4 s (host sampling test)
    target: chat
    seed: 7
    timeScale: 360
    population:
      users: 60
      channels: { count: 3, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: 60 }
      - { phase: hold, duration: 4s }
      - { phase: rampDown, rate: 60 }
    behaviour:
      messagesPerHour: 6
      channelMessagesPerHour: 4
      activityStart: rampUpEnd
`;

test("host CPU and the lab server's CPU and RSS are journaled every second, and plausible", async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(SCENARIO);
  const out = join(dir, 'run');
  await runCommand({ file, scenario: 'busy', lab: true, quiet: true, out, signal: new AbortController().signal });
  const seconds = readJournal(join(out, 'journal.ndjson')).filter((e): e is JournalSecond => e.type === 'second');
  assert.ok(seconds.length >= 4, `${seconds.length} seconds journaled`);
  // The run's last entry is the part-second the workers shipped after the last tick, journaled as
  // the run finishes: when that comes within one /proc/stat tick of the previous second there is
  // no CPU time to divide, and the sampler leaves the figure out rather than invent it.
  const last = seconds.at(-1)!;
  assert.ok(!last.host || (last.host.cpuPercent >= 0 && last.host.cpuPercent <= 100), `last second t ${last.t}: host ${JSON.stringify(last.host)}`);
  for (const s of seconds.slice(0, -1)) {
    assert.ok(s.host && s.host.cores >= 1 && s.host.cpuPercent >= 0 && s.host.cpuPercent <= 100, `t ${s.t}: host ${JSON.stringify(s.host)}`);
    assert.ok(s.server && s.server.processes >= 1 && s.server.rssBytes > 2 ** 20, `t ${s.t}: server ${JSON.stringify(s.server)}`);
  }
  const measured = seconds.filter((s) => s.host && s.server);
  const serverCores = measured.reduce((sum, s) => sum + s.server!.cpuPercent / 100, 0);
  const hostCores = measured.reduce((sum, s) => sum + (s.host!.cpuPercent / 100) * s.host!.cores, 0);
  assert.ok(serverCores > 0, 'the server used CPU under load');
  // Shares of the same /proc/stat ticks: the host's busy cores include the server's (a tick's slack per second).
  assert.ok(hostCores >= serverCores - 0.02 * measured.length, `host ${hostCores.toFixed(2)} core-seconds, server ${serverCores.toFixed(2)}`);
});
