/**
 * `imload simulate` without endpoints: event counts follow the seeded schedule, channel fan-out
 * and presence notifications are worked out by hand for small populations, and the byte
 * arithmetic (sessions, behaviour, wall-time timers, message size) is checked with a toy model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scenario, type ScenarioInput } from '../../src/scenarios/schema.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import { predictTraffic } from '../../src/capacity/simulate.js';
import { byteModelFor, type ByteModel } from '../../src/analysis/simulate-bytes.js';

function scenario(overrides: Partial<ScenarioInput> & { population: ScenarioInput['population'] }): Scenario {
  return Scenario.parse({ target: 't', phases: [{ phase: 'rampUp', rate: 1000 }, { phase: 'hold', duration: '30s' }, { phase: 'rampDown', rate: 1000 }], ...overrides });
}

/** Every cost zero unless given: the arithmetic under test stays visible. */
function toyModel(costs: Partial<ByteModel>): ByteModel {
  return {
    ...byteModelFor('sip'),
    logon: 0, logonPerContact: 0, join: 0, joinPerMember: 0, logoff: 0, logoffPerContact: 0, logoffPerMember: 0,
    message: 0, messageDelivery: 0, channelMessage: 0, channelDelivery: 0, presenceChange: 0, presenceNotify: 0, timers: [],
    ...costs,
  };
}

test('messages follow the seeded schedule: the same count as walking WorkloadPlan, and all delivered when everyone is on', () => {
  const s = scenario({ seed: 9, timeScale: 120, population: { users: 40, contacts: 5 }, behaviour: { messagesPerHour: 6, activityStart: 'rampUpEnd', activityDelay: '1s' } });
  const plan = new WorkloadPlan(s);
  let scheduled = 0;
  for (let i = 0; i < plan.users; i++) {
    const stream = plan.activity(i, plan.identity(i));
    for (let a = stream.next(); a; a = stream.next()) if (a.kind === 'message') scheduled++;
  }
  const p = predictTraffic(s, 'sip');
  assert.ok(scheduled > 20, `the schedule should hold messages (${scheduled})`);
  assert.equal(p.totals.messages, scheduled);
  assert.equal(p.totals.deliveries, scheduled);
  assert.equal(p.totals.undeliverable, 0);
  assert.equal(p.perUser.messagesSent, scheduled / 40);
  // Same seed, same prediction; another seed, another schedule.
  assert.deepEqual(predictTraffic(s, 'sip').totals, p.totals);
  assert.notEqual(predictTraffic({ ...s, seed: 10 }, 'sip').totals.messages, scheduled);
});

test('channel fan-out: one channel everyone joins reaches the other 24 members; IRC has no presence', () => {
  const s = scenario({
    timeScale: 360,
    population: { users: 25, contacts: 3, channels: { count: 1, perUser: { min: 1, max: 1 } } },
    behaviour: { messagesPerHour: 0, channelMessagesPerHour: 10, presenceChangesPerHour: 20, activityStart: 'rampUpEnd', activityDelay: '1s' },
  });
  const p = predictTraffic(s, 'irc');
  assert.ok(p.totals.channelMessages > 10);
  assert.deepEqual(p.channelFanOut, { mean: 24, max: 24 });
  assert.equal(p.totals.deliveries, p.totals.channelMessages * 24);
  assert.equal(p.totals.presenceChanges, 0);
});

test('auditorium: a listener’s question reaches the presenters only', () => {
  const s = scenario({
    timeScale: 360,
    population: { users: 30, channels: { count: 0 }, auditoriums: [{ name: '#hall', presenters: 2, listeners: 1 }] },
    behaviour: { messagesPerHour: 0, channelMessagesPerHour: 10, presenterMessagesPerHour: 0, activityStart: 'rampUpEnd', activityDelay: '1s' },
  });
  const p = predictTraffic(s, 'irc');
  assert.ok(p.totals.channelMessages > 10);
  assert.deepEqual(p.channelFanOut, { mean: 2, max: 2 });
});

test('presence: with everyone watching everyone and all on, each change notifies the other users', () => {
  const s = scenario({ timeScale: 360, population: { users: 12, contacts: 11 }, behaviour: { messagesPerHour: 0, presenceChangesPerHour: 10, activityStart: 'rampUpEnd', activityDelay: '1s' } });
  const p = predictTraffic(s, 'rvp');
  assert.ok(p.totals.presenceChanges > 5);
  assert.equal(p.totals.presenceNotified, p.totals.presenceChanges * 11);
});

test('bytes by hand: sessions once per user, timers per online user-second on wall time, message size followed', () => {
  // 10 users log on at 1000/s (all within 10 ms), hold 30 s, log off at 1000/s: no behaviour.
  const quiet = scenario({ timeScale: 60, population: { users: 10, contacts: 4 }, behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 } });
  const model = toyModel({ logon: 1_000, logonPerContact: 100, logoff: 500, timers: [{ what: 'tick', bytes: 10, bytesPerContact: 0, everySeconds: 10 }] });
  const p = predictTraffic(quiet, 'sip', { model });
  // Logon 1,000 + 4 contacts × 100, logoff 500, per user; the tick fires 10, 20 and 30 s after
  // each logon (logoff comes 30.009 s after it).
  assert.equal(p.totals.bytes, 10 * (1_400 + 500) + 10 * 3 * 10);
  const ticks = p.seconds.filter((s) => s.timerBytes > 0).map((s) => [s.t, s.timerBytes]);
  assert.deepEqual(ticks, [[11, 100], [21, 100], [31, 100]]);
  // Real time: the tick's steady rate, 1 byte per user-second = 0.008 kbit/s (timers are not
  // compressed); nothing else happens in hold.
  assert.ok(Math.abs(p.hold.normalisedKbpsPerUser - 0.008) < 1e-9);

  const chatty = scenario({ timeScale: 60, population: { users: 10, contacts: 4 }, behaviour: { messagesPerHour: 30, presenceChangesPerHour: 0, activityStart: 'rampUpEnd' } });
  const perMessage = predictTraffic(chatty, 'sip', { model: toyModel({ message: 300, messageDelivery: 200 }) });
  assert.equal(perMessage.totals.bytes, perMessage.totals.messages * 300 + perMessage.totals.deliveries * 200);
  // 100 more filler bytes: one more copy of them on each side of each message.
  const bigger = predictTraffic({ ...chatty, behaviour: { ...chatty.behaviour, messageBytes: 140 } }, 'sip', { model: toyModel({ message: 300, messageDelivery: 200 }) });
  assert.equal(bigger.totals.bytes, perMessage.totals.messages * 400 + perMessage.totals.deliveries * 300);
});

test('timeScale compresses behaviour into wall time; the normalised figure stays put', () => {
  const base = { population: { users: 200, contacts: 20 }, behaviour: { messagesPerHour: 3, presenceChangesPerHour: 2, activityStart: 'rampUpEnd' as const } };
  const slow = predictTraffic(scenario({ ...base, timeScale: 60 }), 'sip');
  const fast = predictTraffic(scenario({ ...base, timeScale: 240 }), 'sip');
  const ratio = fast.hold.messagesPerUserSecond / slow.hold.messagesPerUserSecond;
  assert.ok(ratio > 3 && ratio < 5, `4× the timeScale, about 4× the messages per second (${ratio})`);
  const drift = fast.hold.normalisedKbpsPerUser / slow.hold.normalisedKbpsPerUser;
  assert.ok(drift > 0.8 && drift < 1.25, `normalised kbit/s per user should not follow timeScale (${drift})`);
  assert.ok(fast.hold.kbpsPerUser > 3 * slow.hold.kbpsPerUser);
});

test('the logon storm: the busiest ramp-up second carries the logons started in it', () => {
  const s = scenario({ phases: [{ phase: 'rampUp', rate: 50 }, { phase: 'hold', duration: '10s' }], population: { users: 200, contacts: 0 }, behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 } });
  const p = predictTraffic(s, 'sip', { model: toyModel({ logon: 1_000 }) });
  assert.equal(p.rampUp.peakLogonsPerSecond, 50);
  assert.equal(p.rampUp.peakBytesPerSecond, 50_000);
  assert.equal(p.rampUp.peakKbps, 400);
});

test('each-instance channels: every connection-level byte times the servers, instant messages once, the extra counted apart', () => {
  const costs = { logon: 100, join: 30, joinPerMember: 5, logoff: 20, channelMessage: 50, channelDelivery: 60, message: 70, messageDelivery: 80, timers: [{ what: 'keep-alive', everySeconds: 10, bytes: 12, bytesPerContact: 0 }] };
  const model = toyModel({ ...costs, channels: true, presence: false });
  const population = { users: 30, contacts: 3, channels: { count: 3, perUser: { min: 1, max: 2 } } };
  // Channel traffic only: three servers carry exactly three times one linked instance's bytes.
  const channelsOnly = scenario({ seed: 4, timeScale: 60, population, behaviour: { messagesPerHour: 0, channelMessagesPerHour: 6 } });
  const linked = predictTraffic(channelsOnly, 'irc', { model });
  const three = predictTraffic(channelsOnly, 'irc', { model, eachInstanceServers: 3 });
  assert.equal(linked.eachInstance, null, 'the mode off: no each-instance figures');
  assert.ok(linked.totals.channelMessages > 50 && linked.totals.deliveries > linked.totals.channelMessages, `the schedule holds channel traffic: ${JSON.stringify(linked.totals)}`);
  assert.equal(three.totals.bytes, 3 * linked.totals.bytes);
  assert.deepEqual(three.eachInstance, {
    servers: 3,
    extraPosts: 2 * linked.totals.channelMessages,
    extraCopies: 2 * linked.totals.deliveries,
    extraMessages: 2 * (linked.totals.channelMessages + linked.totals.deliveries),
    extraBytes: 2 * linked.totals.bytes,
    extraBytesRatio: 2,
  });
  assert.equal(three.totals.channelMessages, linked.totals.channelMessages, 'a channel message is counted once; its other posts are extra');

  // Instant messages go through the sender's own server: their bytes do not multiply, but a
  // delivery reaches its recipient on another server's connection 2 times in 3.
  const imsOnly = scenario({ seed: 4, timeScale: 60, population: { users: 30, contacts: 3 }, behaviour: { messagesPerHour: 6 } });
  const imModel = toyModel({ message: 70, messageDelivery: 80, channels: true, presence: false });
  const linkedIms = predictTraffic(imsOnly, 'irc', { model: imModel });
  const threeIms = predictTraffic(imsOnly, 'irc', { model: imModel, eachInstanceServers: 3 });
  assert.ok(linkedIms.totals.deliveries > 20, `the schedule holds instant messages: ${JSON.stringify(linkedIms.totals)}`);
  assert.equal(threeIms.totals.bytes, linkedIms.totals.bytes);
  assert.equal(threeIms.eachInstance!.extraMessages, 0);
  assert.ok(Math.abs(threeIms.eachInstance!.extraBytes - (2 / 3) * linkedIms.totals.deliveries * 80) < 1e-6, `extra bytes ${threeIms.eachInstance!.extraBytes}`);
});
