import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolAgent, VirtualUser } from '../../src/agents/types.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { Semaphore } from '../../src/engine/semaphore.js';
import { VuRunner, type WorkerContext } from '../../src/engine/vu.js';
import { MetricsRecorder } from '../../src/metrics/recorder.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';

const USERS = 8;

function scenarioWith(rampDown: string) {
  return parseScenarioText(`version: 1
targets: { chat: { url: irc://127.0.0.1:6667 } }
scenarios:
  s:
    target: chat
    population: { users: ${USERS}, contacts: 0 }
    behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 }
    phases:
      - { phase: rampUp, rate: 1000 }
      - ${rampDown}
`).scenarios.s!;
}

/**
 * A protocol whose logoff takes `logoffMs` (a slow server; 'never': a server that does not
 * answer) and counts how many run at once. Logons finish at once.
 */
function slowLogoffAgent(logoffMs: number | 'never') {
  const seen = { inFlight: 0, maxInFlight: 0, loggedOff: 0 };
  let allLoggedOff: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allLoggedOff = resolve));
  const agent: ProtocolAgent = {
    capabilities: { channels: false, presence: false, instantMessages: false },
    createUser: (): VirtualUser => ({
      logon: async () => undefined,
      join: async () => undefined,
      say: async () => ({ ok: true }),
      message: async () => ({ ok: true }),
      setPresence: async () => undefined,
      part: async () => undefined,
      logoff: () => {
        seen.inFlight++;
        seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
        if (logoffMs === 'never') return new Promise<void>(() => undefined);
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            seen.inFlight--;
            if (++seen.loggedOff === USERS) allLoggedOff();
            resolve();
          }, logoffMs),
        );
      },
      destroy: () => undefined,
    }),
    close: async () => undefined,
  };
  return { agent, seen, done };
}

function startRunners(rampDown: string, agent: ProtocolAgent) {
  const plan = new WorkloadPlan(scenarioWith(rampDown));
  const now = (): number => performance.timeOrigin + performance.now();
  const metrics = new MetricsRecorder(0);
  const context: WorkerContext = {
    plan,
    agent,
    metrics,
    scheduler: new Scheduler(now),
    logons: Semaphore.share(plan.timeline.maxLogonsInFlight, 1),
    logoffs: Semaphore.share(plan.timeline.maxLogoffsInFlight, 1),
    startEpochMs: now(),
    now,
    note: () => undefined,
    stopping: false,
  };
  const runners = Array.from({ length: USERS }, (_, i) => new VuRunner(context, plan.identity(i)));
  for (const runner of runners) runner.start();
  return { runners, metrics, context };
}

test('rampDown maxInFlight: no more logoffs run at once than the cap, and every user still logs off', async () => {
  const { agent, seen, done } = slowLogoffAgent(30);
  const { metrics } = startRunners('{ phase: rampDown, rate: 1000, maxInFlight: 2 }', agent);
  await done;
  assert.equal(seen.loggedOff, USERS);
  assert.equal(seen.maxInFlight, 2, 'the cap is reached and never exceeded');
  assert.equal(metrics.online, 0);
});

test('without maxInFlight, logoffs due together run together', async () => {
  const { agent, seen, done } = slowLogoffAgent(30);
  startRunners('{ phase: rampDown, rate: 1000 }', agent);
  await done;
  assert.ok(seen.maxInFlight > 2, `logoffs at once: ${seen.maxInFlight}`);
});

test('a user destroyed while waiting for a logoff slot leaves the online count right', { timeout: 10_000 }, async () => {
  const { agent, seen } = slowLogoffAgent('never');
  const { runners, metrics, context } = startRunners('{ phase: rampDown, rate: 1000, maxInFlight: 1 }', agent);
  // Wait until one logoff holds the only slot and the others queue behind it.
  while (seen.inFlight === 0 || context.logoffs.queued < USERS - 1) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(metrics.online, USERS - 1, 'users waiting for a slot are still online');
  for (const runner of runners) runner.destroy();
  assert.equal(metrics.online, 0);
  context.scheduler.stop();
});
