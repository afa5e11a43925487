import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerWheel, WheelTimer } from '../../src/protocols/timer-wheel.js';

/** A timer that records the (test) time it fired at, and can act on the wheel when it does. */
class Probe extends WheelTimer {
  readonly firedAt: number[] = [];
  onExpired: () => void = () => undefined;
  constructor(private readonly clock: { now: number }) {
    super();
  }
  expired(): void {
    this.firedAt.push(this.clock.now);
    this.onExpired();
  }
}

/**
 * A wheel on a clock the test moves. schedule() still starts the wheel's (unref'd) Node ticker,
 * but these tests run synchronously, so only they advance the wheel.
 */
function manualWheel(tickMs: number, slots: number) {
  const clock = { now: 1_000 };
  const wheel = new TimerWheel({ tickMs, slots, keepAlive: false, now: () => clock.now });
  const advanceTo = (ms: number): void => {
    clock.now = ms;
    wheel.advance();
  };
  return { clock, wheel, advanceTo, probe: () => new Probe(clock) };
}

test('a timer never fires early and at most one tick late', () => {
  const { wheel, advanceTo, probe } = manualWheel(10, 64);
  const delays = [1, 9, 10, 11, 25, 99, 100];
  const probes = delays.map((delay) => {
    const timer = probe();
    wheel.schedule(timer, delay);
    return timer;
  });
  assert.equal(wheel.size, delays.length);
  for (let now = 1_000; now <= 1_200; now++) advanceTo(now);
  probes.forEach((timer, i) => {
    assert.equal(timer.firedAt.length, 1, `delay ${delays[i]} fired once`);
    const late = timer.firedAt[0]! - (1_000 + delays[i]!);
    assert.ok(late >= 0 && late < 10, `delay ${delays[i]}: fired ${late} ms after due`);
  });
  assert.equal(wheel.size, 0);
});

test('a cancelled timer does not fire, even one due in the same run as the timer cancelling it', () => {
  const { wheel, advanceTo, probe } = manualWheel(10, 64);
  const first = probe();
  const second = probe();
  const third = probe();
  wheel.schedule(first, 20);
  wheel.schedule(second, 20);
  wheel.schedule(third, 40);
  first.onExpired = () => wheel.cancel(second);
  wheel.cancel(third);
  assert.equal(third.scheduled, false);
  advanceTo(1_100);
  assert.deepEqual([first.firedAt.length, second.firedAt.length, third.firedAt.length], [1, 0, 0]);
  assert.equal(wheel.size, 0);
});

test('a timer rescheduled from its own expiry fires again; rescheduling replaces the earlier due time', () => {
  const { wheel, advanceTo, probe } = manualWheel(10, 64);
  const periodic = probe();
  periodic.onExpired = () => {
    if (periodic.firedAt.length < 3) wheel.schedule(periodic, 50);
  };
  wheel.schedule(periodic, 50);
  const moved = probe();
  wheel.schedule(moved, 30);
  wheel.schedule(moved, 200);
  for (let now = 1_000; now <= 1_400; now += 5) advanceTo(now);
  assert.deepEqual(periodic.firedAt, [1_050, 1_100, 1_150]);
  assert.deepEqual(moved.firedAt, [1_200]);
});

test('timers further out than one turn of the wheel wait their turn', () => {
  const { wheel, advanceTo, probe } = manualWheel(10, 8); // one turn = 80 ms
  const far = probe();
  const near = probe();
  wheel.schedule(far, 250);
  wheel.schedule(near, 10); // ticks 101 and 125: the same slot (of 8), three turns apart
  for (let now = 1_000; now <= 1_300; now += 10) advanceTo(now);
  assert.deepEqual(near.firedAt, [1_010]);
  assert.deepEqual(far.firedAt, [1_250]);
});

test('after a stall longer than a turn, every due timer fires once and later ones stay', () => {
  const { wheel, advanceTo, probe } = manualWheel(10, 8);
  const due = [10, 30, 70, 150].map((delay) => {
    const timer = probe();
    wheel.schedule(timer, delay);
    return timer;
  });
  const later = probe();
  wheel.schedule(later, 1_000);
  advanceTo(1_500); // 50 ticks at once, more than the 8 slots
  assert.deepEqual(due.map((timer) => timer.firedAt.length), [1, 1, 1, 1]);
  assert.deepEqual(later.firedAt, []);
  assert.equal(wheel.size, 1);
  advanceTo(2_000);
  assert.deepEqual(later.firedAt, [2_000]);
});

test('on real time: the wheel fires through its own Node timer, and stops ticking when empty', async () => {
  const wheel = new TimerWheel({ tickMs: 2, slots: 64, keepAlive: true });
  const started = performance.now();
  let firedAt = 0;
  const fired = new Promise<void>((resolve) => {
    class Once extends WheelTimer {
      expired(): void {
        firedAt = performance.now();
        resolve();
      }
    }
    wheel.schedule(new Once(), 15);
  });
  assert.equal(wheel.ticking, true);
  await fired;
  assert.ok(firedAt - started >= 15, `fired after ${(firedAt - started).toFixed(1)} ms`);
  assert.equal(wheel.size, 0);
  assert.equal(wheel.ticking, false, 'no Node timer left once nothing is scheduled');
});

test('on real time: while input waits the wheel holds its timers, for at most maxDeferMs', async () => {
  let asked = 0;
  const wheel = new TimerWheel({ tickMs: 2, slots: 64, keepAlive: true, inputWaiting: () => (asked++, true), maxDeferMs: 40 });
  const started = performance.now();
  let firedAt = 0;
  await new Promise<void>((resolve) => {
    class Once extends WheelTimer {
      expired(): void {
        firedAt = performance.now();
        resolve();
      }
    }
    wheel.schedule(new Once(), 10);
  });
  const late = firedAt - started;
  // Held from the first run the ticker queued (before the timer was due) for maxDeferMs.
  assert.ok(late >= 40, `held for maxDeferMs: fired after ${late.toFixed(1)} ms, not at 10`);
  assert.ok(late < 1_000, `never held for good: fired after ${late.toFixed(1)} ms`);
  assert.ok(asked > 1, 'asked again on later event-loop turns');
});
