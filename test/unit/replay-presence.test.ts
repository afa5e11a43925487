/**
 * A replay expects presence notifications from the watchers the replay has online at the change
 * (their recorded sessions at the replay's speed), not from the schedule's windows, which are in
 * the recorded run's time: `replay --speed 2` expected half of what it saw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolAgent, VirtualUser } from '../../src/protocols/types.js';
import type { RecordedEvent } from '../../src/metrics/recording.js';
import { ReplayedSessions } from '../../src/engine/replay.js';
import { testWorkerContext } from '../helpers/worker-context.js';
import { VuRunner } from '../../src/engine/vu.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import { quietUser } from '../helpers/quiet-user.js';

const SPEED = 2;

/** Every user watches every other (4 users, 3 contacts each); the schedule logs one on a second. */
const plan = new WorkloadPlan(
  parseScenarioText(`version: 1
targets: { chat: { url: rvp://127.0.0.1:8080, domain: lab.test } }
scenarios:
  s:
    target: chat
    population: { users: 4, contacts: 3 }
    behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 }
    phases: [{ phase: rampUp, rate: 1 }, { phase: hold, duration: 1m }]
`).scenarios.s!,
);

/** The recorded run: everyone logged on at once; user 3 logged off at 3 s; user 0 changed presence at 4 s. */
const recording = new Map<number, RecordedEvent[]>([
  [0, [{ u: 0, t: 0, k: 'logon' }, { u: 0, t: 4000, k: 'presence', state: 'away' }]],
  [1, [{ u: 1, t: 0, k: 'logon' }]],
  [2, [{ u: 2, t: 0, k: 'logon' }]],
  [3, [{ u: 3, t: 0, k: 'logon' }, { u: 3, t: 3000, k: 'logoff' }]],
]);

test('replayed sessions: online from the first recorded logon to the last logoff, at the replay speed', () => {
  const sessions = new ReplayedSessions(recording, SPEED);
  assert.equal(sessions.watchersOnline([1, 2, 3], 1000), 3);
  assert.equal(sessions.watchersOnline([1, 2, 3], 1500), 2, 'user 3 logged off at 3000 / 2');
  assert.equal(sessions.watchersOnline([1, 2, 3, 9], 0), 3, 'a user the recording lacks is never online');
});

test('a replayed presence change expects the watchers the replay has online, not the schedule', async () => {
  const user: VirtualUser = quietUser();
  const agent: ProtocolAgent = { capabilities: { channels: false, presence: true, instantMessages: false }, createUser: () => user, close: async () => undefined };
  const context = testWorkerContext(plan, agent, { replay: { events: recording, speed: SPEED, sessions: new ReplayedSessions(recording, SPEED) } });
  const { metrics } = context;
  const runner = new VuRunner(context, plan.identity(0));
  assert.equal(await runner.script.logonNow(), true);
  // A change at 1000 ms of the replay: it has all three watchers online; the schedule, only user 1.
  await runner.actions.act({ kind: 'presence', at: 1000, state: 'away' });
  assert.equal(plan.watchersOnline(0, 1000), 1, 'the schedule has one watcher online then');
  assert.equal(metrics.snapshot().counters.presenceExpected, 3, 'the replay has all three');
});
