import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/engine/scheduler.js';
import { RecentIds, formatStamp, messageBody, parseStamp, TO_PRESENTERS } from '../../src/engine/stamp.js';

test('the scheduler runs entries in time order, ties in insertion order', async () => {
  let clock = 1000;
  const scheduler = new Scheduler(() => clock);
  const order: string[] = [];
  const done = new Promise<void>((resolve) => {
    for (const [at, name] of [[1030, 'c'], [1010, 'a'], [1030, 'd'], [1020, 'b'], [1040, 'e']] as const) {
      scheduler.at(at, () => {
        order.push(name);
        if (name === 'e') resolve();
      });
    }
  });
  clock = 2000; // everything is due at once
  await done;
  assert.deepEqual(order, ['a', 'b', 'c', 'd', 'e']);
});

test('stop drops pending entries', async () => {
  const scheduler = new Scheduler(() => Date.now());
  let ran = false;
  scheduler.at(Date.now() + 5, () => (ran = true));
  scheduler.stop();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(ran, false);
  assert.equal(scheduler.size, 0);
});

test('stamps survive being embedded in a body', () => {
  const body = messageBody(formatStamp(12, 7, 1732245123456.125, TO_PRESENTERS), 40);
  assert.equal(body.length, formatStamp(12, 7, 1732245123456.125, TO_PRESENTERS).length + 41);
  assert.deepEqual(parseStamp(`<${body}>`), { sender: 12, seq: 7, scheduledAt: 1732245123456.125, to: TO_PRESENTERS });
  assert.equal(parseStamp('hello'), undefined);
});

test('RecentIds spots a repeated id within its window', () => {
  const recent = new RecentIds(4);
  assert.equal(recent.seen(1, 1), false);
  assert.equal(recent.seen(1, 2), false);
  assert.equal(recent.seen(1, 1), true);
  assert.equal(recent.seen(2, 1), false);
});
