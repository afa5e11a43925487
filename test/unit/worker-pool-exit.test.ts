/**
 * A worker that dies by a signal is reported by that signal — the OOM killer's or a person's
 * SIGKILL, V8's SIGABRT — with its pid, not as "exited with code null".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../src/engine/worker-pool.js';
import type { WorkerInit } from '../../src/engine/messages.js';

test('a worker killed by a signal is reported as killed by that signal, with its pid', async () => {
  // The init is never read: the worker is killed before it can start a run.
  const pool = new WorkerPool(1, () => ({}) as WorkerInit, () => {});
  pool.killRemaining();
  await pool.done;
  assert.equal(pool.failure?.kind, 'worker-crash');
  assert.match(pool.failure?.message ?? '', /^worker 0 \(pid \d+\) was killed by SIGKILL$/);
});
