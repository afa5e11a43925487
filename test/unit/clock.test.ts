import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drainWhileStopping } from '../../src/engine/clock.js';

// Workers that take ~2.4 s to log off: the journal gets an entry per elapsed second while they
// do, not one lumped entry at the end.
test('stopping journals one entry per second until every worker is done', async () => {
  const start = Date.now();
  const flushedAt: number[] = [];
  let finish!: () => void;
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  setTimeout(() => finish(), 2400);
  let second = 0;
  await drainWhileStopping(allDone, 15_000, () => start + (second + 1) * 1000, () => {
    second++;
    flushedAt.push(Date.now() - start);
  });
  const waited = Date.now() - start;
  assert.equal(flushedAt.length, 2, `flushes at ${flushedAt.join(', ')} ms`);
  assert.ok(flushedAt[0]! >= 1000 && flushedAt[1]! >= 2000, `each flush after its tick: ${flushedAt.join(', ')}`);
  assert.ok(waited >= 2400 && waited < 3000, `returned when the workers were done: ${waited} ms`);
});

test('stopping gives up at the grace time even when a worker never finishes', async () => {
  const start = Date.now();
  let flushes = 0;
  let second = 0;
  await drainWhileStopping(new Promise<void>(() => undefined), 1500, () => start + (second + 1) * 1000, () => {
    second++;
    flushes++;
  });
  const waited = Date.now() - start;
  assert.equal(flushes, 1);
  assert.ok(waited >= 1500 && waited < 2000, `bounded by the grace time: ${waited} ms`);
});
