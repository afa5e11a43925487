import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan, usersOf, userName, type Action } from '../../src/scenarios/schedule.js';

const scenario = parseScenarioText(`version: 1
targets: { chat: { url: irc://127.0.0.1:6667 } }
scenarios:
  s:
    target: chat
    seed: 99
    timeScale: 3600
    population:
      users: 500
      channels: { count: 12, spread: zipf }
      auditoriums: [{ name: '#hall', presenters: 3, listeners: 0.3 }]
    phases:
      - { phase: rampUp, rate: 100 }
      - { phase: hold, duration: 60s }
      - { phase: rampDown, rate: 100 }
`).scenarios.s!;

/** Everything that defines user i: identity plus the first 50 scheduled actions. */
function fingerprint(plan: WorkloadPlan, index: number) {
  const identity = plan.identity(index);
  const stream = plan.activity(index, identity);
  const actions: Action[] = [];
  for (let a = stream.next(); a && actions.length < 50; a = stream.next()) actions.push(a);
  return JSON.stringify({ identity, logon: plan.logonAt(index), logoff: plan.logoffAt(index), actions });
}

test('a user schedule is the same whatever the number of workers or segments', () => {
  const reference = new Map<number, string>();
  const single = new WorkloadPlan(scenario);
  for (let i = 0; i < single.users; i++) reference.set(i, fingerprint(single, i));
  for (const [segments, workers] of [[1, 2], [1, 3], [3, 1], [2, 5]] as const) {
    const seen = new Set<number>();
    for (let segment = 0; segment < segments; segment++) {
      for (let worker = 0; worker < workers; worker++) {
        // Each worker builds its own plan, as worker processes do.
        const plan = new WorkloadPlan(scenario);
        for (const i of usersOf(plan.users, { segment, segments, worker, workers })) {
          assert.ok(!seen.has(i), `user ${i} owned twice with ${segments}x${workers}`);
          seen.add(i);
          assert.equal(fingerprint(plan, i), reference.get(i), `user ${i} differs with ${segments} segments × ${workers} workers`);
        }
      }
    }
    assert.equal(seen.size, single.users, `every user is owned exactly once with ${segments}x${workers}`);
  }
});

test('another seed gives other contacts and times', () => {
  const other = new WorkloadPlan({ ...scenario, seed: 100 });
  const plan = new WorkloadPlan(scenario);
  assert.notEqual(fingerprint(other, 7), fingerprint(plan, 7));
});

test('contacts: 20 distinct users, never oneself', () => {
  const plan = new WorkloadPlan(scenario);
  for (let i = 0; i < plan.users; i += 37) {
    const contacts = plan.identity(i).contacts;
    assert.equal(contacts.length, 20);
    assert.equal(new Set(contacts).size, 20);
    assert.ok(!contacts.includes(plan.name(i)));
  }
});

test('channels: 1-3 ordinary channels each, auditorium presenters fixed, listeners about 30 %', () => {
  const plan = new WorkloadPlan(scenario);
  let listeners = 0;
  const presenters = new Set<string>();
  for (let i = 0; i < plan.users; i++) {
    const channels = plan.channelsOf(i);
    const ordinary = channels.filter((c) => !c.auditorium);
    assert.ok(ordinary.length >= 1 && ordinary.length <= 3, `user ${i} has ${ordinary.length} channels`);
    for (const c of channels.filter((c) => c.auditorium)) {
      if (c.role === 'listener') listeners++;
      else presenters.add(plan.name(i));
      assert.equal(c.presenters.length, 3);
    }
  }
  assert.equal(presenters.size, 3);
  assert.ok(listeners > 0.22 * plan.users && listeners < 0.38 * plan.users, `listeners: ${listeners}`);
});

test('messages follow a Poisson process at the configured rate (scaled by timeScale)', () => {
  // 3 messages per simulated hour at timeScale 3600 = 3 per wall second per user.
  const long = { ...scenario, phases: [{ phase: 'rampUp' as const, rate: 1000 }, { phase: 'hold' as const, duration: 200_000 }] };
  const plan = new WorkloadPlan(long);
  let messages = 0;
  const users = 50;
  for (let i = 0; i < users; i++) {
    const stream = plan.activity(i, plan.identity(i));
    let previous = -Infinity;
    for (let a = stream.next(); a; a = stream.next()) {
      assert.ok(a.at >= previous, 'actions come in time order');
      previous = a.at;
      if (a.kind === 'message') messages++;
    }
  }
  const window = (plan.activityWindow(0).end - plan.activityWindow(0).start) / 1000;
  const expected = users * 3 * window;
  // Poisson: standard deviation sqrt(expected) ≈ 170; allow 5 sigma.
  assert.ok(Math.abs(messages - expected) < 5 * Math.sqrt(expected), `${messages} messages, expected about ${expected}`);
});

test('user names follow the pattern, 1-based and zero-padded', () => {
  assert.equal(userName('u{index:6}', 0), 'u000001');
  assert.equal(userName('load-{index}', 41), 'load-42');
});
