/**
 * The coordinator's per-second health from its workers' samples (src/engine/worker-pool.ts): a
 * worker that sent none this second (stopped, stalled) is shown by its last sample, marked stale
 * and stripped of what happened once — its dropped datagrams, its ramp-end collection — so the
 * run's totals do not count them again; two samples in one second count their drops both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secondHealth } from '../../src/engine/worker-pool.js';
import { RunAggregate } from '../../src/metrics/aggregate.js';
import type { GeneratorHealth } from '../../src/metrics/names.js';

const sample = (worker: number, extra: Partial<GeneratorHealth> = {}): GeneratorHealth => ({ worker, eventLoopP99: 10, eventLoopMax: 12, cpuPercent: 30, rssBytes: 1e8, heapUsedBytes: 5e7, openFds: 20, vus: 50, ...extra });

test("a silent worker's last sample is repeated stale, without its drops or collection; the run counts each drop once", () => {
  const collection = { pauseMs: 40, rssBeforeBytes: 2e8, rssAfterBytes: 1e8 };
  const last = sample(1, { udpReceiveDrops: 7, rampCollection: collection });
  // Second 1: both workers report, worker 1 with 7 drops and its collection.
  const first = secondHealth([{ health: sample(0) }, { health: last }], [{ index: 0, health: sample(0) }, { index: 1, health: last }]);
  assert.deepEqual(first[1], last);
  // Seconds 2 and 3: worker 1 sends nothing.
  const silent = secondHealth([{ health: sample(0) }], [{ index: 0, health: sample(0) }, { index: 1, health: last }]);
  assert.equal(silent.length, 2);
  assert.equal(silent[1]!.stale, true);
  assert.equal(silent[1]!.udpReceiveDrops, undefined);
  assert.equal(silent[1]!.rampCollection, undefined);
  assert.equal(silent[1]!.rssBytes, last.rssBytes, 'what it held, as last known');

  const aggregate = new RunAggregate();
  [first, silent, silent].forEach((health, i) => aggregate.add({ type: 'second', t: i + 1, at: (i + 1) * 1000, phase: 'hold', online: 100, counters: {}, errors: {}, histograms: {}, health }));
  assert.deepEqual(aggregate.udpReceiveDrops(), { datagrams: 7, seconds: 1, workers: [1] });
});

test('two samples of one worker in one second: the later one, with both seconds\' drops', () => {
  const [merged] = secondHealth([{ health: sample(0, { udpReceiveDrops: 5, cpuPercent: 90 }) }, { health: sample(0, { udpReceiveDrops: 3, cpuPercent: 20 }) }], [{ index: 0 }]);
  assert.equal(merged!.udpReceiveDrops, 8);
  assert.equal(merged!.cpuPercent, 20);
  assert.equal(merged!.stale, undefined);
});
