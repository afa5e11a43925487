/**
 * events.ndjson.gz records each send with its stamp's seq and its outcome, each counted receipt
 * by the recipient, each lost connection, each error booked as the server's and each transaction
 * retried elsewhere (a retry metric); replay still reads only the actions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentError, type ChannelAssignment, type ProtocolAgent, type SendOutcome, type VirtualUser, type VuEvents } from '../../src/protocols/types.js';
import { EventRecorder, readRecording, type RecordedEvent } from '../../src/metrics/recording.js';
import { ReplayStream } from '../../src/engine/replay.js';
import { formatStamp } from '../../src/engine/stamp.js';
import { testWorkerContext } from '../helpers/worker-context.js';
import { VuRunner } from '../../src/engine/vu.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan, type Action } from '../../src/scenarios/schedule.js';

const CHANNEL: ChannelAssignment = { name: '#room', role: 'member', auditorium: false, presenters: [] };

/** What the agent reports to: the callbacks the engine gave its last user. */
interface Reporting {
  events?: VuEvents;
}

/** Sends answer with the outcomes queued here, in order; an Error is thrown instead. */
function scriptedAgent(outcomes: Array<SendOutcome | Error>, reporting: Reporting = {}): ProtocolAgent {
  const next = async (): Promise<SendOutcome> => {
    const outcome = outcomes.shift();
    if (!outcome) throw new Error('no outcome scripted');
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
  return {
    capabilities: { channels: true, presence: false, instantMessages: true },
    createUser: (_identity, events): VirtualUser => {
      reporting.events = events;
      return {
        logon: async () => undefined,
        join: async () => undefined,
        say: next,
        message: next,
        setPresence: async () => undefined,
        part: async () => undefined,
        logoff: async () => undefined,
        destroy: () => undefined,
      };
    },
    close: async () => undefined,
  };
}

function runnerWith(agent: ProtocolAgent, recorder: EventRecorder) {
  const scenario = parseScenarioText(`version: 1
targets: { chat: { url: irc://127.0.0.1:6667 } }
scenarios:
  s:
    target: chat
    population: { users: 4, contacts: 0 }
    behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 }
    phases: [{ phase: hold, duration: 1m }]
`).scenarios.s!;
  const plan = new WorkloadPlan(scenario);
  const context = testWorkerContext(plan, agent, { recorder });
  return { runner: new VuRunner(context, plan.identity(1)), metrics: context.metrics, context };
}

test('sends carry their seq and outcome, receipts and lost connections are recorded, replay reads only the actions', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'imload-rec-')), 'events.ndjson.gz');
  const recorder = new EventRecorder(path);
  const reporting: Reporting = {};
  const agent = scriptedAgent(
    [{ ok: true }, { ok: true, recipients: 3 }, { ok: false, reason: 'offline' }, new AgentError('send-timeout', 'no answer')],
    reporting,
  );
  const { runner, context } = runnerWith(agent, recorder);
  assert.equal(await runner.script.logonNow(), true);
  const events = reporting.events!;
  const actions: Action[] = [
    { kind: 'message', at: 10, to: 'u000002', toIndex: 2, text: 'one' },
    { kind: 'say', at: 20, channel: CHANNEL, text: 'two' },
    { kind: 'message', at: 30, to: 'u000003', toIndex: 3 },
    { kind: 'message', at: 40, to: 'u000002', toIndex: 2 },
  ];
  for (const action of actions) await runner.actions.act(action);
  // A delivery meant for this user (index 1) from user 2's seq 9, then the same one again (a
  // duplicate, not counted), then one meant for user 3 (misrouted, not counted).
  const at = context.startEpochMs;
  events.message('u000002', formatStamp(2, 9, at, 1), at + 5);
  events.message('u000002', formatStamp(2, 9, at, 1), at + 6);
  events.message('u000002', formatStamp(2, 10, at, 3), at + 7);
  events.metric('poolFailoverMessage', 1);
  events.disconnected('gone', 'connection-reset');
  const closing = recorder.close();
  // Late callbacks once the stop closed the recorder are dropped, not a "write after end".
  events.message('u000002', formatStamp(2, 11, at, 1), at + 8);
  recorder.record({ u: 1, t: 0, k: 'logoff' });
  await closing;

  const recorded = (await readRecording(path)).get(1)!;
  const records = recorded.map(({ t: _t, u: _u, ...rest }) => rest);
  assert.deepEqual(records, [
    { k: 'logon' },
    { k: 'message', to: 'u000002', toIndex: 2, seq: 1, text: 'one' },
    { k: 'sent', seq: 1, n: 1 },
    { k: 'say', ch: '#room', seq: 2, text: 'two' },
    { k: 'sent', seq: 2, n: 3 },
    { k: 'message', to: 'u000003', toIndex: 3, seq: 3 },
    { k: 'send-failed', seq: 3, reason: 'offline' },
    { k: 'message', to: 'u000002', toIndex: 2, seq: 4 },
    { k: 'send-failed', seq: 4, reason: 'send-timeout' },
    { k: 'error', kind: 'send-timeout' },
    { k: 'recv', from: 2, seq: 9 },
    { k: 'retried', metric: 'poolFailoverMessage' },
    { k: 'disconnect', reason: 'connection-reset' },
    { k: 'error', kind: 'connection-reset' },
  ]);

  const replay = new ReplayStream(recorded as RecordedEvent[], 1, { ...runner.identity, channels: [CHANNEL] });
  const replayed: Action[] = [];
  for (let action = replay.next(); action; action = replay.next()) replayed.push(action);
  assert.deepEqual(
    replayed.map((a) => a.kind),
    ['message', 'say', 'message', 'message'],
    'only the sends are replayed, not their outcomes, receipts, errors, retries or the disconnect',
  );
});

test('a channel receipt names its channel', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'imload-rec-')), 'events.ndjson.gz');
  const recorder = new EventRecorder(path);
  const reporting: Reporting = {};
  const { runner, context } = runnerWith(scriptedAgent([], reporting), recorder);
  assert.equal(await runner.script.logonNow(), true);
  await runner.script.joinChannel('#room');
  reporting.events!.message('u000000', formatStamp(0, 4, context.startEpochMs, -1), context.startEpochMs, '#room');
  await recorder.close();
  const events = (await readRecording(path)).get(1)!;
  assert.deepEqual(events.filter((e) => e.k === 'recv').map(({ t: _t, ...rest }) => rest), [{ u: 1, k: 'recv', from: 0, seq: 4, ch: '#room' }]);
});

test('the recorder keeps every event in order across its batches: flushed a second at a time, at its size bound, and at close', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'imload-rec-batch-')), 'events.ndjson.gz');
  const recorder = new EventRecorder(path);
  const events: RecordedEvent[] = [];
  const record = (event: RecordedEvent) => {
    events.push(event);
    recorder.record(event);
  };
  for (let t = 0; t < 3; t++) record({ u: 1, t, k: 'logon' });
  recorder.flush();
  recorder.flush(); // nothing new: writes nothing
  // A logon burst: more than one batch's worth before the next flush.
  for (let seq = 0; seq < 3000; seq++) record({ u: 2, t: 10 + seq, k: 'message', to: 'user00001', toIndex: 1, seq, text: 'x'.repeat(20) });
  record({ u: 1, t: 5000, k: 'logoff' }); // only in the batch close() hands over
  await recorder.close();
  recorder.record({ u: 1, t: 6000, k: 'logon' }); // after close: dropped
  const byUser = await readRecording(path);
  assert.deepEqual([...(byUser.get(1) ?? []), ...(byUser.get(2) ?? [])], [...events.filter((e) => e.u === 1), ...events.filter((e) => e.u === 2)]);
  assert.equal((byUser.get(2) ?? []).length, 3000);
});
