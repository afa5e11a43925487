import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drainWhileStopping, onEveryPeriod } from '../../src/engine/clock.js';

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

/**
 * The workers' snapshot ticks on a busy event loop (18 ms of work every 20 ms, so each timer fires
 * up to ~18 ms late): each tick stays near its own boundary of the clock. A setInterval let the
 * lateness add up, tick after tick (~2 ms a second on a real worker, 66 ms after 30 s), until the
 * coordinator, waiting 50 ms after each second, folded alternately none and two of them.
 */
test('onEveryPeriod: ticks stay on the clock\'s boundaries under a busy loop, lateness never adds up', async () => {
  const periodMs = 50;
  const ticks = 40;
  const start = performance.now();
  // How late each tick is against its own boundary (the i-th tick's is (i + 1) periods in).
  const lateness: number[] = [];
  const busy = setInterval(() => {
    const until = performance.now() + 18;
    while (performance.now() < until);
  }, 20);
  try {
    await new Promise<void>((resolve) => {
      const stop = onEveryPeriod(start, periodMs, () => performance.now(), () => {
        lateness.push(performance.now() - start - (lateness.length + 1) * periodMs);
        if (lateness.length === ticks) {
          stop();
          resolve();
        }
      });
    });
  } finally {
    clearInterval(busy);
  }
  // A setInterval here ends 380–430 ms behind (its lateness added up tick after tick); these end
  // as near their boundaries as the first ones, within one of the loop's 18 ms blocks.
  const last = lateness.slice(-5);
  assert.ok(last.every((ms) => ms > -2 && ms < 45), `the last ticks' lateness: ${last.map((ms) => ms.toFixed(1)).join(', ')} ms`);
});

test('onEveryPeriod: a stall longer than a period skips the boundaries it missed, serving none twice', async () => {
  const periodMs = 50;
  const start = performance.now();
  const served: number[] = [];
  await new Promise<void>((resolve) => {
    const stop = onEveryPeriod(start, periodMs, () => performance.now(), () => {
      // The boundary the tick is nearest: a timer may fire up to a millisecond before it (libuv counts whole ms).
      served.push(Math.round((performance.now() - start) / periodMs));
      if (served.length === 1) {
        // Three periods of blocking inside the first tick.
        const until = performance.now() + 3 * periodMs;
        while (performance.now() < until);
      }
      if (served.length === 3) {
        stop();
        resolve();
      }
    });
  });
  assert.deepEqual(served, [...new Set(served)], `each boundary once: ${served.join(', ')}`);
  // The first tick (boundary 1) blocks until boundary 4: boundaries 2 and 3 are skipped, not served late in a burst.
  assert.equal(served[0], 1);
  assert.ok(served[1]! >= 4 && served[2]! > served[1]!, `after the stall, boundaries 2 and 3 skipped: ${served.join(', ')}`);
});

/** Stopped from inside its own tick (as a run ending on a tick does), nothing stays scheduled. */
test('onEveryPeriod: a stop from inside the tick leaves no timer behind', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  const before = timers();
  let calls = 0;
  await new Promise<void>((resolve) => {
    const stop = onEveryPeriod(performance.now(), 10, () => performance.now(), () => {
      calls++;
      stop();
      resolve();
    });
  });
  assert.equal(calls, 1);
  assert.equal(timers(), before, 'the stopped ticker left a timer scheduled');
});
