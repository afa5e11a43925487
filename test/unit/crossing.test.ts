/**
 * The exchanges between a site's users and everyone else's on a scenario's schedule
 * (src/capacity/crossing.ts), checked against what `imload simulate` counts for the whole
 * population: each message and each presence notification has a sender and a receiver, so summed
 * over one-user sites every one crosses exactly twice, and every subscription twice too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossingBytes, scheduledCrossing } from '../../src/capacity/crossing.js';
import { modelledBandwidth } from '../../src/capacity/plan-bandwidth.js';
import { predictTraffic } from '../../src/capacity/simulate.js';
import { descriptorOf } from '../../src/protocols/registry.js';
import { parseScenarioText } from '../../src/scenarios/load.js';

const scenario = parseScenarioText(`version: 1
targets: { im: { url: sip://127.0.0.1:5060, domain: lab.test } }
scenarios:
  s:
    target: im
    seed: 7
    timeScale: 600
    population: { users: 30, contacts: 6 }
    phases: [{ phase: rampUp, rate: 10 }, { phase: hold, duration: 40s }, { phase: rampDown, rate: 10 }]
    behaviour: { activityStart: rampUpEnd, activityDelay: 1s, messagesPerHour: 6, presenceChangesPerHour: 4, channelMessagesPerHour: 0 }
`, 's.yaml').scenarios.s!;

test('summed over one-user sites, every message, notification and subscription of the schedule crosses twice', () => {
  const whole = predictTraffic(scenario, 'sip').totals;
  assert.ok(whole.messages > 50 && whole.presenceNotified > 100, `a schedule worth counting: ${JSON.stringify(whole)}`);
  const sum = { subscriptions: 0, messages: 0, notifications: 0 };
  for (let user = 0; user < 30; user++) {
    const alone = scheduledCrossing(scenario, (u) => u === user);
    sum.subscriptions += alone.subscriptions;
    sum.messages += alone.messages;
    sum.notifications += alone.notifications;
  }
  assert.deepEqual(sum, { subscriptions: 2 * 30 * 6, messages: 2 * whole.messages, notifications: 2 * whole.presenceNotified });
});

test('a site and the rest see the same exchanges cross; everyone on one side, none', () => {
  const plant = scheduledCrossing(scenario, (u) => u % 3 === 0);
  assert.deepEqual(scheduledCrossing(scenario, (u) => u % 3 !== 0), plant);
  assert.ok(plant.subscriptions > 0 && plant.messages > 0 && plant.notifications > 0, JSON.stringify(plant));
  assert.deepEqual(scheduledCrossing(scenario, () => true), { subscriptions: 0, messages: 0, notifications: 0 });
});

test('the plan counts the same exchanges from its rates: one user with every contact elsewhere, out and in', () => {
  const m = descriptorOf('sip')!.byteModel;
  const [sip] = modelledBandwidth({ messagesPerHour: 3, presenceChangesPerHour: 2, contacts: 10, sessionHours: 8 }).filter((b) => b.protocol === 'sip');
  const exchanges = { subscriptions: 2 * 10, messages: 2 * 3 * 8, notifications: 2 * 2 * 10 * 8 };
  assert.equal(sip!.session.crossing - sip!.session.crossingTimers, crossingBytes(exchanges, m));
  assert.equal(crossingBytes(exchanges, m), 20 * (m.logonPerContact + m.logoffPerContact) + 48 * m.message + 320 * m.presenceNotify);
});
