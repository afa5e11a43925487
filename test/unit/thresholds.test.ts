import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseThresholdCheck } from '../../src/capacity/threshold-grammar.js';
import { evaluateThresholds } from '../../src/capacity/thresholds.js';

test('checks parse with units into base units', () => {
  assert.deepEqual(parseThresholdCheck('delivery.p99 < 2s'), { metric: 'delivery.p99', op: '<', value: 2000 });
  assert.deepEqual(parseThresholdCheck('errors.rate <= 1%'), { metric: 'errors.rate', op: '<=', value: 0.01 });
  assert.deepEqual(parseThresholdCheck('users.peakOnline>=19900'), { metric: 'users.peakOnline', op: '>=', value: 19900 });
});

test('bad checks say why', () => {
  assert.match(parseThresholdCheck('delivery.p99 < 2 parsecs') as string, /expected "metric op value"/);
  assert.match(parseThresholdCheck('users.peakOnline < 3s') as string, /time units only apply to latencies/);
  assert.match(parseThresholdCheck('logon.p95 < 5%') as string, /only applies to rates/);
});

test('a threshold on something never measured fails', () => {
  const values: Record<string, number | null> = { 'delivery.p99': null, 'errors.count': 0 };
  const results = evaluateThresholds(
    [
      { check: 'delivery.p99 < 2s', abortOnFail: false, delayAbortEval: 0 },
      { check: 'errors.count == 0', abortOnFail: true, delayAbortEval: 0 },
    ],
    (m) => values[m] ?? null,
  );
  assert.deepEqual(results.map((r) => r.ok), [false, true]);
  assert.equal(results[0]!.actual, null);
});
