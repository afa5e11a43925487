/** imload compare on synthetic runs: an injected regression is flagged, noise is not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareCommand } from '../../src/commands/compare.js';
import { UserFacingError } from '../../src/exit-codes.js';
import { parseRegressionLimit } from '../../src/report/compare.js';
import { rankSumTest } from '../../src/report/compare-stats.js';
import { writeSyntheticJournal, type SyntheticRun } from './report-synthetic-journal.js';

function run(options: Omit<SyntheticRun, 'path' | 'seconds' | 'users' | 'rampSeconds'>): string {
  const dir = mkdtempSync(join(tmpdir(), 'imload-compare-'));
  writeSyntheticJournal({ path: join(dir, 'journal.ndjson'), seconds: 70, users: 2000, rampSeconds: 10, fanOut: 20, ...options });
  return dir;
}

const baseline = run({ seed: 1 });

test('a run whose delivery latency tripled is a regression (exit 99), named in the text and the HTML', async () => {
  const slower = run({ seed: 2, deliveryMedianMs: () => 9 });
  const out = join(slower, 'cmp.html');
  const { exitCode, comparison } = await compareCommand({ baselineDir: baseline, runDir: slower, out, quiet: true });
  assert.equal(exitCode, 99);
  const names = comparison.regressions.map((m) => m.metric);
  assert.ok(names.includes('delivery.p99') && names.includes('delivery.p50'), names.join(', '));
  const p99 = comparison.metrics.find((m) => m.metric === 'delivery.p99')!;
  assert.ok(p99.pWorse !== null && p99.pWorse < 0.001, `p = ${p99.pWorse}`);
  assert.ok(!names.includes('logon.p99') && !names.includes('users.peakOnline'), 'unchanged metrics are not flagged');
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<p class="bad" id="verdict">Regression: [^<]*delivery\.p99/);
});

test('the same workload with different random noise is not a regression (exit 0)', async () => {
  const noisy = run({ seed: 3 });
  const { exitCode, comparison, htmlPath } = await compareCommand({ baselineDir: baseline, runDir: noisy, quiet: true });
  assert.deepEqual(comparison.regressions.map((m) => m.metric), []);
  assert.equal(exitCode, 0);
  assert.equal(htmlPath, join(noisy, 'compare.html'), 'the HTML goes into the run folder by default');
  assert.ok(existsSync(htmlPath));
});

test('a short spike of slow seconds moves p99 beyond its limit but is not significant over the run', async () => {
  // Same seed as the baseline, so the only difference is three slow seconds out of sixty: the
  // whole-run p99 rises, the per-second p99s of the other 57 seconds do not.
  const spiky = run({ seed: 1, deliveryMedianMs: (t) => (t >= 40 && t < 43 ? 40 : 3) });
  const { comparison } = await compareCommand({ baselineDir: baseline, runDir: spiky, quiet: true, maxRegression: ['delivery.p99=10%'] });
  const p99 = comparison.metrics.find((m) => m.metric === 'delivery.p99')!;
  assert.ok(p99.delta! > 0 && p99.relativeDelta! > 0.1, `p99 rose ${p99.relativeDelta}`);
  assert.equal(p99.status, 'worse, not significant');
});

test('--max-regression sets the limit: a tripled p99 passes at 500 %; limits are relative (%) or absolute (ms, s, plain)', async () => {
  const slower = run({ seed: 2, deliveryMedianMs: () => 9 });
  const loose = await compareCommand({ baselineDir: baseline, runDir: slower, quiet: true, maxRegression: ['delivery.p99=500%', 'delivery.p50=500%', 'delivery.p95=500%'] });
  assert.equal(loose.comparison.metrics.find((m) => m.metric === 'delivery.p99')!.status, 'worse, within limit');
  assert.equal(loose.exitCode, 0);
  assert.deepEqual(parseRegressionLimit('delivery.p99=20ms'), { metric: 'delivery.p99', limit: { absolute: 20 } });
  assert.deepEqual(parseRegressionLimit('logon.p95=2s'), { metric: 'logon.p95', limit: { absolute: 2000 } });
  assert.deepEqual(parseRegressionLimit('errors.rate=0.01'), { metric: 'errors.rate', limit: { absolute: 0.01 } });
});

test('bad input is exit 2: unknown metric, malformed limit, a folder without a journal', async () => {
  const cases: Array<[string[], string, RegExp]> = [
    [['nonsense.p99=10%'], baseline, /unknown metric "nonsense\.p99"/],
    [['delivery.p99'], baseline, /expected metric=N%/],
    [['errors.rate=5ms'], baseline, /time units only apply to latencies/],
    [[], mkdtempSync(join(tmpdir(), 'imload-empty-')), /no journal\.ndjson here/],
  ];
  for (const [maxRegression, runDir, message] of cases) {
    await assert.rejects(compareCommand({ baselineDir: baseline, runDir, maxRegression, quiet: true }), (error: unknown) => {
      assert.ok(error instanceof UserFacingError);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, message);
      return true;
    });
  }
});

test('the rank-sum test: separated samples are significant, identical ones are not, small samples are untested', () => {
  const low = Array.from({ length: 20 }, (_, i) => i);
  const high = low.map((x) => x + 100);
  const separated = rankSumTest(low, high)!;
  assert.ok(separated.pGreater < 1e-6 && separated.pLess > 0.999);
  const same = rankSumTest(low, [...low])!;
  assert.ok(Math.abs(same.pGreater - 0.5) < 0.05);
  assert.deepEqual(rankSumTest([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]), { u: 12.5, z: 0, pGreater: 1, pLess: 1 });
  assert.equal(rankSumTest([1, 2, 3, 4], [5, 6, 7, 8, 9]), null);
  // U counts the pairs where the second sample is larger, ties counting half: 2 beats 1 and ties
  // with 2 (1.5), each 6 beats all five (4 × 5).
  assert.equal(rankSumTest([1, 2, 3, 4, 5], [2, 6, 6, 6, 6])!.u, 21.5);
});
