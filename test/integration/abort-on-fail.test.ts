/** A threshold with abortOnFail stops the run as soon as it fails (after its delay): k6-style gates. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

test('abortOnFail stops a 5-minute run within seconds of the threshold failing; exit 99', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  gate:
    target: chat
    timeScale: 1200
    population: { users: 20, channels: { count: 2 } }
    phases:
      - { phase: rampUp, rate: 20 }
      - { phase: hold, duration: 5m }
    thresholds:
      - errors.count == 0
      - { check: delivery.p50 < 0.001ms, abortOnFail: true, delayAbortEval: 4s }
`);
  const started = Date.now();
  const { exitCode, result } = await runCommand({ file, scenario: 'gate', lab: true, quiet: true, out: join(dir, 'run'), signal: new AbortController().signal });
  assert.equal(result.reason, 'aborted');
  assert.match(result.summary.end.detail ?? '', /threshold failed: delivery\.p50 < 0\.001ms/);
  assert.ok(Date.now() - started < 40_000, 'stopped long before the hold ended');
  assert.deepEqual(result.summary.thresholds.map((r) => r.ok), [true, false]);
  assert.equal(exitCode, 99);
  assert.ok(result.summary.latency.delivery.count > 0, 'it failed on measured deliveries, not on missing data');
});
