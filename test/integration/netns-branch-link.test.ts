/**
 * A branch office behind a 128 kbit/s tbf link (src/lab/netns.ts runBranchOffice): a burst of
 * logons that wants more than the link can carry, so the link is the limit. Each second's
 * measured application bytes, in each direction, must stay within the link rate plus a small
 * margin: the tbf burst (one token bucket's worth, once) and 10 % for the per-second sampling,
 * whose ticks jitter by tens of ms. The link must also have been close to full, or the bound
 * would prove nothing. Application bytes exclude headers, so they can only be under the wire's.
 *
 * Needs root; skipped only when neither root nor CI (CI runs as root and must run it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LINK_BURST_BYTES, runBranchOffice, usersPerLink } from '../../src/lab/netns.js';
import { readJournal, type JournalSecond } from '../../src/metrics/journal.js';
import { buildSummary } from '../../src/analysis/summary.js';
import { loadScenarioFile } from '../../src/scenarios/load.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 40;
const LINK_BPS = 128_000;

/** The shape of branch-128k (scenarios.yaml), with the whole office logging on at once. */
const SCENARIO = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667 }
scenarios:
  branch-burst:
    target: chat
    seed: 128
    # Light enough after the burst that the link is no longer the limit for messages.
    timeScale: 30
    population:
      users: ${USERS}
      channels: { count: 3, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: ${USERS} }
      - { phase: hold, duration: 35s }
      - { phase: rampDown, rate: ${USERS} }
    behaviour:
      messagesPerHour: 6
      channelMessagesPerHour: 3
      activityStart: rampUpEnd
      # The burst takes ~20 s through the link: activity starts once everyone is on.
      activityDelay: 25s
      logonTimeout: 60s
      joinTimeout: 60s
`;

test('the shipped branch scenarios exist and name a lab target', () => {
  const { config } = loadScenarioFile('scenarios.yaml');
  for (const name of ['branch-56k', 'branch-128k']) {
    const scenario = config.scenarios[name];
    assert.ok(scenario, name);
    assert.equal(scenario.timeScale, 1, `${name} runs in real time so its bandwidth per user is the documented workload's`);
    assert.ok(config.targets[scenario.target]?.lab, `${name}'s target is a lab server`);
  }
});

test('through a 128 kbit/s tbf link, measured bytes per second never exceed the link rate', { timeout: 240_000 }, async (t) => {
  if (process.getuid?.() !== 0 && !process.env.CI) {
    t.skip('needs root to create network namespaces and shape links (CI runs it as root)');
    return;
  }
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(SCENARIO);
  const run = await runBranchOffice({ file, scenario: 'branch-burst', target: 'chat', link: '128kbit', outDir: join(dir, 'branch'), timeoutMs: 150_000 });
  const entries = readJournal(join(run.runDir, 'journal.ndjson'));
  const { summary } = buildSummary(entries);
  assert.equal(summary.users.logonOk, USERS, 'every user logged on over the slow link');
  assert.ok(summary.messages.delivered > 0, 'messages crossed the link once the burst was over');

  const seconds = entries.filter((e): e is JournalSecond => e.type === 'second');
  const end = entries.find((e) => e.type === 'end');
  assert.ok(end, 'the run ended');
  const peak = { in: 0 };
  seconds.forEach((second, i) => {
    // The last entry is the workers' final snapshot: it covers the time from the last tick until
    // they had logged off, which can be several seconds.
    const span = i === seconds.length - 1 && i > 0 ? Math.max(1, (end.at - seconds[i - 1]!.at) / 1000) : 1;
    const limit = (LINK_BPS / 8) * 1.1 * span + LINK_BURST_BYTES;
    const bytesIn = second.counters.bytesIn ?? 0;
    const bytesOut = second.counters.bytesOut ?? 0;
    assert.ok(bytesIn <= limit, `second ${second.t}: ${bytesIn} bytes received, link allows ${limit.toFixed(0)}`);
    assert.ok(bytesOut <= limit, `second ${second.t}: ${bytesOut} bytes sent, link allows ${limit.toFixed(0)}`);
    if (span === 1) peak.in = Math.max(peak.in, bytesIn);
  });
  assert.ok(peak.in >= (LINK_BPS / 8) * 0.6, `the logon burst filled the downlink (peak ${peak.in} B/s of ${LINK_BPS / 8})`);
  const appBytes = summary.bandwidth.bytesIn + summary.bandwidth.bytesOut;
  assert.ok(run.wireBytes >= appBytes, `the link carried ${run.wireBytes} wire bytes for ${appBytes} application bytes`);
  assert.ok(summary.latency.logon.p95 > 1000, `queued behind the burst, logons take seconds (p95 ${summary.latency.logon.p95} ms)`);
  const carried = usersPerLink(LINK_BPS, summary.bandwidth.kbpsPerUser);
  assert.equal(carried, Math.floor(128 / summary.bandwidth.kbpsPerUser));
});
