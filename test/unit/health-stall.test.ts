/**
 * A stalled worker (stopped, swapped out, paused) runs no timer, so the event-loop delay monitor
 * records nothing of the stall; the health sample, due every second, takes its own lateness as a
 * stall (docs/metrics.md § Saturation). Here the stall is a synchronous block the monitor cannot
 * see before the sample is taken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthSampler } from '../../src/metrics/health.js';

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a sample due every 100 ms, taken 400 ms after the last, reports a stall of at least 300 ms', () => {
  const sampler = new HealthSampler(0);
  try {
    sampler.sample(0);
    block(400);
    const due = sampler.sample(0, 100);
    assert.ok(due.eventLoopMax >= 300, `eventLoopMax ${due.eventLoopMax}`);
    // The same block, sampled without a period (a worker's last sample): only what the monitor saw.
    block(400);
    const undue = sampler.sample(0);
    assert.ok(undue.eventLoopMax < 300, `eventLoopMax ${undue.eventLoopMax}: the monitor did not see the block`);
  } finally {
    sampler.stop();
  }
});
