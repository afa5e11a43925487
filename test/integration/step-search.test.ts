/**
 * A step search against a lab server whose capacity the test constrains (InspIRCd's connect
 * class allows 25 clients) finds that limit: 20 users hold, 30 do not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../../src/commands/run.js';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';
import { join } from 'node:path';

test('a step search finds the client limit of a constrained server', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const server = await startInspircd({ maxClients: 25 });
  try {
    const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: ${server.url} }
scenarios:
  search:
    target: chat
    limits: exchange2000-chat
    timeScale: 600
    population: { users: 50, channels: { count: 2 } }
    phases:
      - { phase: stepSearch, from: 10, step: 10, rate: 20, stepDuration: 3s, windows: 2 }
    behaviour: { logonTimeout: 5s }
    thresholds:
      - users.onlineRatio >= 100%
      - delivery.p99 < 2s
`);
    const { result } = await runCommand({ file, scenario: 'search', quiet: true, out: join(dir, 'run'), signal: new AbortController().signal });
    const search = result.summary.stepSearch;
    assert.ok(search, 'the summary has a step search');
    assert.equal(search.sustainable, 20);
    assert.equal(search.brokeAt, 30);
    assert.equal(search.gaveOut, 'server errors');
    assert.deepEqual(search.steps.map((s) => s.level), [10, 20, 30], 'the search stopped after the first broken step');
    assert.equal(search.steps[2]!.windows.length, 2, 'the broken step was measured in both its windows');
    assert.ok(search.steps[2]!.windows.every((w) => w.failed.includes('users.onlineRatio >= 100%')));
    // InspIRCd counts the listener against its soft limit, so it holds 24 or 25 clients.
    const peak = result.summary.users.peakOnline;
    assert.ok(peak > 20 && peak <= 25, `the server held up to its limit: ${peak}`);
    const verdict = result.summary.limits!.verdicts[0]!;
    assert.equal(verdict.verdict, 'missed');
    assert.equal(verdict.at, 30);
  } finally {
    await server.stop();
  }
});
