/**
 * The one full garbage collection a worker runs at its ramp's end (docs/metrics.md § Generator
 * health): reported once, in the next health sample, with its pause and RSS either side; nothing
 * when `gc` is not exposed; run by a run with a hold just after its last scheduled logon, or once
 * the logons still in flight then have been answered.
 * Also the baseline a worker takes before building its users. `globalThis.gc` is stubbed here
 * (the worker pool starts workers with --expose-gc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HealthSampler } from '../../src/metrics/health.js';
import type { FromWorker } from '../../src/engine/messages.js';
import { RAMP_COLLECTION_DELAY_MS, WorkerRun } from '../../src/engine/worker-run.js';
import type { ProtocolAgent } from '../../src/protocols/types.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import { quietAgentOf } from '../helpers/quiet-user.js';

const host = globalThis as { gc?: () => void };

/** Replaces `gc` for one test, counting and timing its calls. */
function stubGc(t: { after: (fn: () => void) => void }): number[] {
  const calls: number[] = [];
  const previous = host.gc;
  host.gc = () => void calls.push(performance.timeOrigin + performance.now());
  t.after(() => (previous ? (host.gc = previous) : delete host.gc));
  return calls;
}

test('the collection is reported in the next sample only, with its pause and RSS either side', (t) => {
  const calls = stubGc(t);
  const sampler = new HealthSampler(0);
  t.after(() => sampler.stop());
  assert.equal(sampler.sample(0).rampCollection, undefined);
  sampler.collectRampGarbage();
  assert.equal(calls.length, 1);
  const collected = sampler.sample(10).rampCollection;
  assert.ok(collected, 'the sample after the collection reports it');
  assert.ok(collected.pauseMs >= 0 && collected.rssBeforeBytes > 0 && collected.rssAfterBytes > 0, JSON.stringify(collected));
  assert.equal(sampler.sample(10).rampCollection, undefined);
});

test('the baseline is the one the worker took before building its users, when given', (t) => {
  const sampler = new HealthSampler(0, 123_456);
  t.after(() => sampler.stop());
  assert.equal(sampler.sample(0).baselineRssBytes, 123_456);
});

test('without gc exposed, nothing runs and no collection is reported', (t) => {
  const previous = host.gc;
  delete host.gc;
  t.after(() => previous && (host.gc = previous));
  const sampler = new HealthSampler(0);
  t.after(() => sampler.stop());
  sampler.collectRampGarbage();
  assert.equal(sampler.sample(0).rampCollection, undefined);
});

function scenarioWith(phases: string) {
  return parseScenarioText(`version: 1
targets: { chat: { url: irc://127.0.0.1:6667 } }
scenarios:
  s:
    target: chat
    population: { users: 3, contacts: 0 }
    behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 }
    phases: ${phases}
`).scenarios.s!;
}

/** Users whose logons are answered once `answered` resolves (at once by default). */
const quietAgent = (answered: Promise<void> = Promise.resolve()): ProtocolAgent => quietAgentOf(() => ({ logon: () => answered }));

/**
 * Runs 3 users until the first snapshot reporting a collection, or until `seconds` snapshots went
 * by; `onSnapshot` hears each snapshot's index (from 1).
 */
async function runUntilCollected(phases: string, seconds: number, agent = quietAgent(), onSnapshot: (n: number) => void = () => undefined) {
  const plan = new WorkloadPlan(scenarioWith(phases));
  const messages: FromWorker[] = [];
  let snapshots = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const run = new WorkerRun((message) => {
    messages.push(message);
    if (message.type !== 'metrics' || !message.snapshot.health) return;
    onSnapshot(++snapshots);
    if (message.snapshot.health.rampCollection || snapshots >= seconds) finish();
  });
  const startEpochMs = performance.timeOrigin + performance.now();
  run.start({ worker: 0, workers: 1, plan, agent, startEpochMs, identities: [0, 1, 2].map((i) => plan.identity(i)) });
  await finished;
  await run.stop();
  const collections = messages.flatMap((m) => (m.type === 'metrics' && m.snapshot.health?.rampCollection ? [m.snapshot.health.rampCollection] : []));
  return { plan, startEpochMs, collections };
}

test('a run with a hold collects once, just after its last scheduled logon', async (t) => {
  const calls = stubGc(t);
  // 3 users at 10/s: the last logon at 200 ms, the collection at 700 ms, reported by the 1 s sample.
  const { plan, startEpochMs, collections } = await runUntilCollected('[{ phase: rampUp, rate: 10 }, { phase: hold, duration: 1m }]', 3);
  assert.equal(calls.length, 1);
  assert.equal(collections.length, 1);
  assert.ok(calls[0]! >= startEpochMs + plan.timeline.rampUpEnd + RAMP_COLLECTION_DELAY_MS - 1, `collected ${calls[0]! - startEpochMs} ms into the run`);
});

test('logons still in flight at the ramp\'s end put the collection off until they are answered', async (t) => {
  const calls = stubGc(t);
  let answer: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  let answeredAt = Number.POSITIVE_INFINITY;
  let collectedBeforeAnswer = 0;
  // The logons hang past the first look (700 ms); the 1 s sample answers them.
  const { collections } = await runUntilCollected('[{ phase: rampUp, rate: 10 }, { phase: hold, duration: 1m }]', 4, quietAgent(answered), (n) => {
    if (n !== 1) return;
    collectedBeforeAnswer = calls.length;
    answeredAt = performance.timeOrigin + performance.now();
    answer();
  });
  assert.equal(collectedBeforeAnswer, 0, 'no collection while the logons were in flight');
  assert.equal(collections.length, 1);
  assert.ok(calls.length === 1 && calls[0]! >= answeredAt, `collected ${calls[0]! - answeredAt} ms after the logons were answered`);
});

test('a run without a hold does not collect', async (t) => {
  const calls = stubGc(t);
  await runUntilCollected('[{ phase: rampUp, rate: 10 }]', 2);
  assert.equal(calls.length, 0);
});

/** Old space committed above what it holds after the first and the second collection, MiB (test/fixtures/heap-compaction.ts, a process each: the flag is process-wide). */
async function unusedAfterCollections(how: 'plain' | 'ramp', nodeFlags: string[] = []): Promise<{ first: number; second: number }> {
  const fixture = fileURLToPath(new URL('../fixtures/heap-compaction.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', ...nodeFlags, '--import', 'tsx', fixture, how], { timeout: 60_000 });
  return JSON.parse(stdout) as { first: number; second: number };
}

test("the ramp's collection compacts, once; a worker started with its own choice of compaction keeps it", async () => {
  const [plain, ramp, chosen] = await Promise.all([
    unusedAfterCollections('plain'),
    unusedAfterCollections('ramp'),
    unusedAfterCollections('ramp', ['--no-compact-on-every-full-gc']),
  ]);
  const show = (label: string, u: { first: number; second: number }) => `${label}: ${u.first.toFixed(1)} then ${u.second.toFixed(1)} MiB committed unused`;
  const context = [show('plain', plain), show('ramp', ramp), show('ramp, chosen', chosen)].join('; ');
  // Measured: a plain full collection leaves 13–42 MiB of the burst's pages committed; compacting, 1.0–1.4.
  const big = (mib: number) => mib > 8;
  const small = (mib: number) => mib < 4;
  assert.ok(big(plain.first) && big(plain.second), `the fixture must leave pages behind a plain collection: ${context}`);
  assert.ok(small(ramp.first), `the ramp's collection compacts: ${context}`);
  assert.ok(big(ramp.second), `after it, collections are V8's own again: ${context}`);
  assert.ok(big(chosen.first), `the worker's own flag stands: ${context}`);
});
