/**
 * The adaptive logon window (maxInFlight: auto): halves on a throttle or a timeout, grows back on
 * successes, stays between 1 and its ceiling, and never shrinks because logons are merely slow.
 * A scripted clock: time moves only when a test says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogonWindow } from '../../src/engine/logon-window.js';
import { parseScenarioText, ScenarioError, formatProblem } from '../../src/scenarios/load.js';
import { buildTimeline } from '../../src/scenarios/schedule.js';

function rampUp(maxInFlight: string | undefined) {
  const phase = `{ phase: rampUp, rate: 5${maxInFlight === undefined ? '' : `, maxInFlight: ${maxInFlight}`} }`;
  const file = parseScenarioText(`version: 1
targets: { chat: { url: irc://127.0.0.1:6667 } }
scenarios:
  s:
    target: chat
    population: { users: 10 }
    phases: [${phase}, { phase: hold, duration: 1s }]
`);
  return buildTimeline(file.scenarios.s!).maxLogonsInFlight;
}

test('rampUp maxInFlight: auto by default, auto or a whole number when given, anything else a clear error', () => {
  assert.equal(rampUp(undefined), 'auto');
  assert.equal(rampUp('auto'), 'auto');
  assert.equal(rampUp('8'), 8);
  for (const bad of ['fast', '0', '2.5']) {
    assert.throws(
      () => rampUp(bad),
      (error: unknown) => error instanceof ScenarioError && error.problems.map(formatProblem).some((p) => /maxInFlight: (expected a whole number above 0, or auto|Too small: expected number to be >0)/.test(p)),
      bad,
    );
  }
});

/** Time and timers that move only when the test advances them. */
function scriptedClock() {
  let t = 0;
  const timers: Array<{ time: number; wake: () => void }> = [];
  const now = () => t;
  const at = (time: number, wake: () => void) => void timers.push({ time, wake });
  const advance = (ms: number) => {
    t += ms;
    for (const timer of timers.splice(0).sort((a, b) => a.time - b.time)) {
      if (timer.time <= t) timer.wake();
      else timers.push(timer);
    }
  };
  return { now, advance, options: { now, at } };
}

/** Takes `n` slots, asserting each is granted at once; returns their start times. */
async function fill(window: LogonWindow, n: number, now: () => number): Promise<number[]> {
  const started: number[] = [];
  for (let i = 0; i < n; i++) {
    let granted = false;
    void window.acquire().then(() => (granted = true));
    await Promise.resolve();
    assert.ok(granted, `slot ${i + 1} of ${n} granted at once`);
    started.push(now());
  }
  return started;
}

/** How many of `n` more callers get a slot now (the rest wait). */
async function grantedOf(window: LogonWindow, n: number): Promise<number> {
  let granted = 0;
  for (let i = 0; i < n; i++) void window.acquire().then(() => granted++);
  await new Promise((resolve) => setImmediate(resolve));
  return granted;
}

test('auto: uncapped until the server pushes back, then halves what was in flight (one probe first)', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow(clock.options);
  const started = await fill(window, 40, clock.now);
  clock.advance(100);
  window.release({ startedAt: started[0]!, failure: 'throttled' });
  assert.equal(window.stats().target, 20, '40 in flight, halved');
  assert.equal(window.size, 1, 'a single probe after the pause');
  assert.equal(window.stats().cuts, 1);
});

test('a timeout halves the window too; a failure that says nothing about load does not', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow({ ...clock.options, ceiling: 16 });
  const started = await fill(window, 16, clock.now);
  clock.advance(10);
  window.release({ startedAt: started[0]!, failure: 'auth-failed' });
  assert.equal(window.size, 16, 'a refused password is not pushback');
  clock.advance(10_000);
  window.release({ startedAt: clock.now(), failure: 'logon-timeout' });
  assert.equal(window.stats().target, 7, 'the 15 still in flight, halved');
  assert.equal(window.size, 1);
  assert.equal(window.stats().pushbacks, 1);
});

test('attempts sent under the old window cut it once, not once each', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow(clock.options);
  const started = await fill(window, 32, clock.now);
  clock.advance(50);
  for (const at of started.slice(0, 10)) window.release({ startedAt: at, failure: 'throttled' });
  assert.equal(window.stats().target, 16);
  assert.equal(window.stats().pushbacks, 10, 'every pushback counted');
  assert.equal(window.stats().cuts, 1, 'but only the first one cut');
  // An attempt started after the cut meets pushback again: that is news, and it cuts.
  for (const at of started.slice(10)) window.release({ startedAt: at });
  clock.advance(1000); // the pause after the cut
  const [later] = await fill(window, 1, clock.now);
  clock.advance(50);
  window.release({ startedAt: later!, failure: 'connect-refused' });
  assert.equal(window.stats().cuts, 2);
});

test('never below one slot, however often the server pushes back', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow({ ...clock.options, ceiling: 4 });
  for (let i = 0; i < 10; i++) {
    const [at] = await fill(window, 1, clock.now);
    clock.advance(10);
    window.release({ startedAt: at!, failure: 'throttled' });
    clock.advance(20_000); // past the pause
  }
  assert.equal(window.size, 1);
  assert.equal(await grantedOf(window, 3), 1, 'one logon still goes ahead');
});

test('successes grow a full window by one slot per window of successes, up to its ceiling', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow({ ...clock.options, ceiling: 6 });
  const started = await fill(window, 6, clock.now);
  clock.advance(10);
  window.release({ startedAt: started[0]!, failure: 'throttled' });
  assert.equal(window.stats().target, 3, '6 in flight, halved');
  for (let i = 1; i < started.length; i++) window.release(); // cut short: no lesson either way
  clock.advance(1000); // the pause after the cut
  // Keep callers waiting, so the window is what holds logons back; the oldest logon succeeds each step.
  const inFlight: number[] = [];
  const request = () => void window.acquire().then(() => inFlight.push(clock.now()));
  for (let i = 0; i < 4; i++) request();
  const sizes: number[] = [];
  for (let step = 0; step < 40; step++) {
    await new Promise((resolve) => setImmediate(resolve));
    request();
    clock.advance(100);
    window.release({ startedAt: inFlight.shift()! });
    sizes.push(window.size);
  }
  assert.deepEqual(sizes.slice(0, 9), [2, 3, 3, 3, 4, 4, 4, 4, 5], `one slot per success up to the target 3, then three successes at size 3 add one slot, four at size 4 another: ${sizes.join(',')}`);
  assert.ok(sizes.every((size, i) => i === 0 || size >= sizes[i - 1]!), `never shrinks on success: ${sizes.join(',')}`);
  assert.equal(Math.max(...sizes), 6, 'reaches the ceiling');
  assert.ok(sizes.every((size) => size <= 6), 'and never passes it');
});

test('slowness alone never shrinks the window: a logon that takes a long time is a success', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow({ ...clock.options, ceiling: 8 });
  for (let round = 0; round < 5; round++) {
    const started = await fill(window, 8, clock.now);
    clock.advance(9_000); // just under a 10 s logon timeout, every time
    for (const at of started) window.release({ startedAt: at });
  }
  assert.equal(window.size, 8);
  assert.equal(window.stats().cuts, 0);
  assert.equal(window.stats().pushbacks, 0);
});

test('an idle window does not grow: successes while it was never full prove nothing', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow({ ...clock.options, ceiling: 100 });
  const started = await fill(window, 8, clock.now);
  clock.advance(10);
  window.release({ startedAt: started[0]!, failure: 'throttled' });
  assert.equal(window.stats().target, 4);
  for (const at of started.slice(1)) window.release({ startedAt: at }); // 7 still in flight: a full window
  const grownTo = window.size;
  clock.advance(1000); // the pause after the cut
  for (let i = 0; i < 50; i++) {
    const [at] = await fill(window, 1, clock.now);
    clock.advance(100);
    window.release({ startedAt: at! });
  }
  assert.equal(window.size, grownTo, 'one logon at a time never fills the window');
});

test('a fixed maxInFlight never adapts, but still counts pushback', async () => {
  const clock = scriptedClock();
  const window = LogonWindow.share(20, 2, clock.options);
  assert.equal(window.size, 10, 'split across the workers');
  const started = await fill(window, 10, clock.now);
  assert.equal(await grantedOf(window, 1), 0, 'the eleventh waits');
  clock.advance(10);
  for (const at of started) window.release({ startedAt: at, failure: 'throttled' });
  assert.equal(window.size, 10);
  assert.deepEqual({ ...window.stats(), mean: undefined }, { adaptive: false, pushbacks: 10, cuts: 0, min: 10, current: 10, target: Number.POSITIVE_INFINITY, mean: undefined });
});

test('a release without an outcome (a logon cut short by the run) teaches nothing', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow(clock.options);
  await fill(window, 10, clock.now);
  for (let i = 0; i < 10; i++) window.release();
  assert.equal(window.stats().pushbacks, 0);
  assert.equal(window.stats().current, Number.POSITIVE_INFINITY, 'still uncapped');
});

test('stats: the smallest window and its time-weighted mean from the first cut to the last logon', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow({ ...clock.options, ceiling: 8 });
  const started = await fill(window, 8, clock.now);
  clock.advance(10);
  window.release({ startedAt: started[0]!, failure: 'throttled' }); // size 1 from t=10
  clock.advance(1000);
  window.release({ startedAt: started[1]! }); // a success while full: size 2 from t=1010
  clock.advance(1000);
  window.release({ startedAt: started[2]! }); // size 3 at t=2010, the last logon's end
  const stats = window.stats();
  assert.equal(stats.min, 1);
  assert.equal(stats.cuts, 1);
  assert.equal(stats.current, 3);
  // 1 slot for 1000 ms, then 2 for 1000 ms.
  assert.equal(stats.mean, 1.5);
});

test('a cut pauses new logons: 1 s, doubling while the pushback goes on, back to 1 s after a success', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow({ ...clock.options, ceiling: 8 });
  const pauses: number[] = [];
  /** Fails one logon as throttled and measures how long the next caller waits for its slot. */
  const throttleOnce = async () => {
    const [at] = await fill(window, 1, clock.now);
    window.release({ startedAt: at!, failure: 'throttled' });
    let granted = false;
    void window.acquire().then(() => (granted = true));
    const from = clock.now();
    while (!granted) {
      clock.advance(250);
      await Promise.resolve();
      assert.ok(clock.now() - from <= 60_000, 'the pause ends');
    }
    pauses.push(clock.now() - from);
    window.release(); // hand the slot back without a lesson
  };
  for (let i = 0; i < 7; i++) await throttleOnce();
  assert.deepEqual(pauses, [1000, 2000, 4000, 8000, 16_000, 16_000, 16_000]);
  const [at] = await fill(window, 1, clock.now);
  window.release({ startedAt: at! }); // a success: the pushback is over
  await throttleOnce();
  assert.equal(pauses.at(-1), 1000);
});

test('after a lockout the window climbs back one slot per success to half where it was, then one per window', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow({ ...clock.options, ceiling: 64 });
  const started = await fill(window, 32, clock.now);
  clock.advance(10);
  window.release({ startedAt: started[0]!, failure: 'throttled' }); // 32 → 16: the pushback begins
  for (let i = 1; i < started.length; i++) window.release();
  for (let wait = 1000; window.size > 1; wait *= 2) {
    clock.advance(wait);
    const [at] = await fill(window, 1, clock.now);
    window.release({ startedAt: at!, failure: 'throttled' }); // the server is still locked
  }
  clock.advance(20_000);
  const inFlight: number[] = [];
  const request = () => void window.acquire().then(() => inFlight.push(clock.now()));
  for (let i = 0; i < 40; i++) request();
  const sizes: number[] = [];
  for (let step = 0; step < 30; step++) {
    await new Promise((resolve) => setImmediate(resolve));
    request();
    clock.advance(100);
    window.release({ startedAt: inFlight.shift()! });
    sizes.push(window.size);
  }
  assert.deepEqual(sizes.slice(0, 15), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], `slow start to 16: ${sizes.join(',')}`);
  assert.deepEqual(sizes.slice(15, 30), Array(15).fill(16), `then one slot per 16 successes: ${sizes.join(',')}`);
});

test('refused or reset connections are pushback only while other logons succeed, not when the server is down', async () => {
  const clock = scriptedClock();
  const window = new LogonWindow({ ...clock.options, ceiling: 8 });
  let started = await fill(window, 8, clock.now);
  clock.advance(10);
  for (const at of started) window.release({ startedAt: at, failure: 'connect-refused' });
  assert.equal(window.stats().pushbacks, 0, 'nobody got through: the server is down');
  assert.equal(window.size, 8);
  started = await fill(window, 8, clock.now);
  clock.advance(10);
  window.release({ startedAt: started[0]! });
  clock.advance(10);
  window.release({ startedAt: started[1]!, failure: 'connection-reset' });
  assert.equal(window.stats().pushbacks, 1, 'reset while another logon got through: a full backlog');
  assert.equal(window.stats().target, 3, '7 in flight, halved');
});
