/**
 * The script API of a virtual user (vu-script.ts, behind the public `Vu`): a script's logon,
 * joins and parts go through the lifecycle and are counted like the schedule's, and the channels
 * it joins are the ones the user's inbox accepts channel messages for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolAgent, VirtualUser, VuEvents } from '../../src/protocols/types.js';
import { formatStamp, TO_CHANNEL } from '../../src/engine/stamp.js';
import { VuRunner } from '../../src/engine/vu.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import { testWorkerContext } from '../helpers/worker-context.js';

function setup() {
  const reporting: { events?: VuEvents; joined: string[]; parted: string[] } = { joined: [], parted: [] };
  const agent: ProtocolAgent = {
    capabilities: { channels: true, presence: false, instantMessages: true },
    createUser: (_identity, events): VirtualUser => {
      reporting.events = events;
      return {
        logon: async () => undefined,
        join: async (channel) => void reporting.joined.push(channel.name),
        say: async () => ({ ok: true }),
        message: async () => ({ ok: true }),
        setPresence: async () => undefined,
        part: async (channel) => void reporting.parted.push(channel.name),
        logoff: async () => undefined,
        destroy: () => undefined,
      };
    },
    close: async () => undefined,
  };
  const scenario = parseScenarioText(`version: 1
targets: { chat: { url: irc://127.0.0.1:6667 } }
scenarios:
  s:
    target: chat
    population: { users: 3, contacts: 0 }
    behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 }
    phases: [{ phase: hold, duration: 1m }]
`).scenarios.s!;
  const plan = new WorkloadPlan(scenario);
  const context = testWorkerContext(plan, agent);
  return { runner: new VuRunner(context, plan.identity(0)), metrics: context.metrics, reporting, context };
}

test('a join before logon is an error, not a join; after logon it is counted and the channel is the inbox’s until parted', async () => {
  const { runner, metrics, reporting, context } = setup();
  const script = runner.script;
  assert.equal(await script.joinChannel('#late'), false);
  assert.deepEqual(metrics.snapshot().errors, { 'not-logged-on': 1 });

  assert.equal(await script.logonNow(), true);
  assert.equal(runner.online, true);
  assert.equal(await script.joinChannel('#Room'), true);
  assert.deepEqual(reporting.joined, ['#Room']);
  assert.equal(script.channelNamed('#room')?.name, '#Room', 'names match case-insensitively');

  const at = context.startEpochMs;
  reporting.events!.message('u000002', formatStamp(2, 1, at, TO_CHANNEL), at + 3, '#room');
  await script.partChannel('#room');
  assert.deepEqual(reporting.parted, ['#Room'], 'the channel as joined');
  assert.equal(script.channelNamed('#room'), undefined);
  reporting.events!.message('u000002', formatStamp(2, 2, at, TO_CHANNEL), at + 4, '#room');

  const counters = metrics.snapshot().counters;
  assert.equal(counters.logonOk, 1);
  assert.equal(counters.joinsOk, 1);
  assert.equal(counters.deliveriesReceived, 1, 'received while joined');
  assert.equal(counters.misrouted, 1, 'after the part the channel is not the user’s');
  runner.destroy();
});

test('a script that throws is a script error; one that returns completes its flow', async () => {
  const { runner, metrics } = setup();
  await runner.script.run(async (vu) => {
    assert.equal(vu.name, 'u000001');
    assert.equal(await vu.logon(), true);
  });
  await runner.script.run(async () => {
    throw new Error('boom');
  });
  const snapshot = metrics.snapshot();
  assert.equal(snapshot.counters.flowsCompleted, 1);
  assert.deepEqual(snapshot.errors, { 'script-error': 1 });
  runner.destroy();
});
