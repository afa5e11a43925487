/**
 * What an agent reports that belongs to none of its users (AgentEvents: SIP's shared UDP
 * sockets) is counted for the worker's run — bytes, a registered counter, an error by kind with
 * its first detail as a note — and an error once the run is stopping is teardown, never a
 * server error (docs/metrics.md § Teardown).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FromWorker } from '../../src/engine/messages.js';
import { WorkerRun } from '../../src/engine/worker-run.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import type { MetricsSnapshot } from '../../src/metrics/recorder.js';
import { quietAgentOf } from '../helpers/quiet-user.js';

const scenario = parseScenarioText(`version: 1
targets: { im: { url: sip://127.0.0.1:5060 } }
scenarios:
  s:
    target: im
    population: { users: 1, contacts: 0 }
    behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 }
    phases: [{ phase: rampUp, rate: 10 }, { phase: hold, duration: 1m }]
`).scenarios.s!;

test('agent events are the run\'s, not a user\'s; an error while stopping is teardown', async () => {
  const plan = new WorkloadPlan(scenario);
  const messages: FromWorker[] = [];
  let firstSnapshot: (snapshot: MetricsSnapshot) => void = () => undefined;
  const snapshotted = new Promise<MetricsSnapshot>((resolve) => (firstSnapshot = resolve));
  const run = new WorkerRun((message) => {
    messages.push(message);
    if (message.type === 'metrics') firstSnapshot(message.snapshot);
  });
  // Before start there is no run to count into (and no user to have caused anything).
  run.agentEvents.error('protocol-error', 'before start');
  run.start({ worker: 0, workers: 1, plan, agent: quietAgentOf(), startEpochMs: performance.timeOrigin + performance.now(), identities: [plan.identity(0)] });
  run.agentEvents.bytes(120, 0);
  run.agentEvents.metric('icmpUnreachable', 2);
  run.agentEvents.error('protocol-error', 'malformed datagram: no start line');
  run.agentEvents.note('sip-unreachable', 'ICMP errors came back');
  const snapshot = await snapshotted;
  assert.deepEqual(snapshot.errors, { 'protocol-error': 1 });
  assert.equal(snapshot.counters.icmpUnreachable, 2);
  assert.equal(snapshot.counters.bytesIn, 120);
  const notes = messages.flatMap((m) => (m.type === 'note' ? [`${m.key}: ${m.text}`] : []));
  assert.deepEqual(notes, ['error:protocol-error: protocol-error: malformed datagram: no start line', 'sip-unreachable: ICMP errors came back']);

  const stopped = run.stop();
  run.agentEvents.error('connect-refused', 'the server went away as we stopped');
  await stopped;
  const after = messages.flatMap((m) => (m.type === 'metrics' && m.snapshot !== snapshot ? [m.snapshot] : []));
  assert.deepEqual(Object.assign({}, ...after.map((s) => s.teardown)), { 'connect-refused': 1 });
  assert.ok(after.every((s) => s.errors['connect-refused'] === undefined), 'not a server error');
});
