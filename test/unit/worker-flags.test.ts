import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WORKER_SEMI_SPACE_MIB, workerEnv, workerNodeFlags } from '../../src/engine/worker-pool.js';

function withFlags<T>(value: string | undefined, run: () => T): T {
  const before = process.env.IMLOAD_WORKER_NODE_FLAGS;
  if (value === undefined) delete process.env.IMLOAD_WORKER_NODE_FLAGS;
  else process.env.IMLOAD_WORKER_NODE_FLAGS = value;
  try {
    return run();
  } finally {
    if (before === undefined) delete process.env.IMLOAD_WORKER_NODE_FLAGS;
    else process.env.IMLOAD_WORKER_NODE_FLAGS = before;
  }
}

test("workers' young generation is capped below V8's 16 MiB a semi-space, and not pinned", () => {
  assert.ok(WORKER_SEMI_SPACE_MIB < 16);
  assert.deepEqual(withFlags(undefined, workerNodeFlags), [`--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`]);
});

test('IMLOAD_WORKER_NODE_FLAGS comes after the cap, and a semi-space size there replaces it', () => {
  assert.deepEqual(withFlags('--trace-gc  --max-old-space-size=8192', workerNodeFlags).slice(1), ['--trace-gc', '--max-old-space-size=8192']);
  assert.deepEqual(withFlags('--max-semi-space-size=16', workerNodeFlags), ['--max-semi-space-size=16']);
  assert.deepEqual(withFlags('--min_semi_space_size=4 --trace-gc', workerNodeFlags), ['--min_semi_space_size=4', '--trace-gc']);
});

test("workers' malloc is held to two arenas, unless the user chose a number", () => {
  const before = process.env.MALLOC_ARENA_MAX;
  try {
    delete process.env.MALLOC_ARENA_MAX;
    assert.equal(workerEnv().MALLOC_ARENA_MAX, '2');
    assert.equal(workerEnv().PATH, process.env.PATH, 'the rest of the environment is passed on');
    process.env.MALLOC_ARENA_MAX = '8';
    assert.equal(workerEnv().MALLOC_ARENA_MAX, '8');
  } finally {
    if (before === undefined) delete process.env.MALLOC_ARENA_MAX;
    else process.env.MALLOC_ARENA_MAX = before;
  }
});
