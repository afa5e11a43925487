/**
 * Presence measured from standard content alone: a notification that carries only the contact
 * and the state it now shows is matched to the seeded schedule's change, in order; a server
 * that folds changes into one notification, or sends one a change never produced, is handled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import { PresenceCorrelator } from '../../src/engine/presence-correlation.js';

const scenario = parseScenarioText(`version: 1
targets: { im: { url: sip://127.0.0.1:5060 } }
scenarios:
  s:
    target: im
    seed: 7
    timeScale: 3600
    population: { users: 50, contacts: 5 }
    phases:
      - { phase: rampUp, rate: 100 }
      - { phase: hold, duration: 60s }
    behaviour: { presenceChangesPerHour: 30 }
`).scenarios.s!;
const plan = new WorkloadPlan(scenario);
const START = 1_000_000;

/** The scheduled presence changes of user `index`, as the worker that owns it makes them. */
function changesOf(index: number) {
  const out: { at: number; state: string }[] = [];
  const activity = plan.activity(index, plan.identity(index));
  for (let a = activity.next(); a !== undefined; a = activity.next()) if (a.kind === 'presence') out.push({ at: a.at, state: a.state });
  return out;
}

const watcher = plan.identity(0);
const contact = watcher.contacts[0]!;
const changes = changesOf(plan.contactIndices(0)[0]!);

test('the schedule gives the contact enough changes to test with', () => {
  assert.ok(changes.length >= 4, `${changes.length} changes`);
});

test('each notification in order matches its own change; latency is from that change', () => {
  const correlator = new PresenceCorrelator(plan, watcher, START);
  for (const change of changes) {
    assert.equal(correlator.match(contact, change.state as never, START + change.at + 40), START + change.at);
  }
  // Nothing left to account for: a repeat of the last state is no change.
  assert.equal(correlator.match(contact, changes.at(-1)!.state as never, START + 10_000_000), undefined);
});

test('a notification before any change was due, for an unknown contact, or of a state never scheduled, matches nothing', () => {
  const correlator = new PresenceCorrelator(plan, watcher, START);
  assert.equal(correlator.match(contact, changes[0]!.state as never, START + changes[0]!.at - 1), undefined);
  assert.equal(correlator.match('nobody', changes[0]!.state as never, START + changes[0]!.at + 1), undefined);
  assert.equal(correlator.match(contact, 'offline', START + 10_000_000), undefined, 'a logoff is no scheduled change');
});

test('a server folding two changes into one notification: the later is matched, the earlier stays unseen', () => {
  const correlator = new PresenceCorrelator(plan, watcher, START);
  const [first, second, third] = changes;
  // Only the result of the first two changes is reported, after both.
  assert.equal(correlator.match(contact, second!.state as never, START + second!.at + 5), START + second!.at);
  // The first's state now comes only with later changes, never credited to the folded one.
  assert.equal(correlator.match(contact, third!.state as never, START + third!.at + 5), START + third!.at);
  assert.notEqual(first, undefined);
});

test('a stamp that identified a change moves the order on, so the next unstamped one matches the next change', () => {
  const correlator = new PresenceCorrelator(plan, watcher, START);
  correlator.matched(contact, START + changes[1]!.at);
  assert.equal(correlator.match(contact, changes[2]!.state as never, START + changes[2]!.at + 1), START + changes[2]!.at);
});
