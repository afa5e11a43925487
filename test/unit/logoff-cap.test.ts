import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentError, type ProtocolAgent, type VirtualUser } from '../../src/protocols/types.js';
import { testWorkerContext } from '../helpers/worker-context.js';
import { quietUser } from '../helpers/quiet-user.js';
import { VuRunner } from '../../src/engine/vu.js';
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
      # Logoffs well after the logons: a logoff that falls due in the same scheduler batch as
      # its user's logon (a slow first timer on a busy machine) finds the user still connecting
      # and only drops it, so the logoff under test would never run.
      - { phase: hold, duration: 400ms }
      - ${rampDown}
`).scenarios.s!;
}

/**
 * A protocol whose logoff takes `logoffMs` (a slow server; 'never': a server that does not
 * answer, whose logoff fails only when the user is destroyed, as a real agent's does) and
 * counts how many run at once. Logons finish at once.
 */
function slowLogoffAgent(logoffMs: number | 'never') {
  const seen = { inFlight: 0, maxInFlight: 0, loggedOff: 0 };
  let allLoggedOff: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allLoggedOff = resolve));
  let firstLogoffStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (firstLogoffStarted = resolve));
  /** 'never': the rejecters of the logoffs in flight, in the order they started. */
  const unanswered: Array<(error: Error) => void> = [];
  const agent: ProtocolAgent = {
    capabilities: { channels: false, presence: false, instantMessages: false },
    createUser: (): VirtualUser => {
      let failLogoff: (error: Error) => void = () => undefined;
      return quietUser({
        logoff: () => {
          seen.inFlight++;
          seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
          firstLogoffStarted();
          if (logoffMs === 'never') {
            return new Promise<void>((_, reject) => {
              failLogoff = reject;
              unanswered.push(reject);
            });
          }
          return new Promise<void>((resolve) =>
            setTimeout(() => {
              seen.inFlight--;
              if (++seen.loggedOff === USERS) allLoggedOff();
              resolve();
            }, logoffMs),
          );
        },
        destroy: () => failLogoff(new AgentError('send-failed', 'logoff: destroyed')),
      });
    },
    close: async () => undefined,
  };
  return { agent, seen, done, started, unanswered };
}

function startRunners(rampDown: string, agent: ProtocolAgent, scheduled = true) {
  const plan = new WorkloadPlan(scenarioWith(rampDown));
  const context = testWorkerContext(plan, agent);
  const { metrics } = context;
  const runners = Array.from({ length: USERS }, (_, i) => new VuRunner(context, plan.identity(i)));
  if (scheduled) for (const runner of runners) runner.start();
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

/** Every user logged on at once, then every logoff asked for at once (no schedule). */
async function allLeaving(maxInFlight: number) {
  const { agent, seen, started, unanswered } = slowLogoffAgent('never');
  const { runners, metrics, context } = startRunners(`{ phase: rampDown, rate: 1000, maxInFlight: ${maxInFlight} }`, agent, false);
  for (const runner of runners) assert.equal(await runner.script.logonNow(), true);
  for (const runner of runners) void runner.logoff();
  await started;
  return { runners, metrics, context, seen, unanswered };
}

test('a user destroyed while waiting for a logoff slot leaves the online count right', async () => {
  const { runners, metrics, context, seen } = await allLeaving(1);
  assert.equal(seen.inFlight, 1, 'one logoff holds the only slot');
  assert.equal(context.logoffs.queued, USERS - 1, 'the others wait for it');
  assert.equal(metrics.online, USERS - 1, 'users waiting for a slot are still online');
  for (const runner of runners) runner.destroy();
  assert.equal(metrics.online, 0);
});

test('logoffs cut off by the end of a run are counted by the worker, not as errors', async () => {
  const { runners, metrics } = await allLeaving(3);
  assert.equal(runners.filter((runner) => runner.loggingOff).length, 3, 'three logoffs on the wire');
  for (const runner of runners) runner.destroy();
  // The cut-off logoffs fail (their user was destroyed) on the next turns of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(runners.filter((runner) => runner.loggingOff).length, 0);
  assert.deepEqual(metrics.snapshot().errors, {});
});

test('a logoff that fails before the end of the run is still an error', async () => {
  const { runners, metrics, unanswered } = await allLeaving(3);
  unanswered[0]!(new AgentError('send-rejected', 'logoff: 500 Server Internal Error'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(unanswered.length, 4, 'its slot went to the next user waiting');
  for (const runner of runners) runner.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(metrics.snapshot().errors, { 'send-rejected': 1 }, 'the refused logoff only, not the three cut off');
});
