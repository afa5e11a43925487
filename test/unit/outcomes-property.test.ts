/**
 * Property: however a run ends, every logon attempt, logoff attempt and send has exactly one
 * outcome (docs/metrics.md § Outcomes of each attempt). Drives the real engine — `VuRunner`s
 * inside a `WorkerRun`, through its stop path — with a scripted agent whose operations succeed,
 * fail, hang until the user is destroyed, or never settle, at random, and random stop times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { AgentError, type ProtocolAgent, type SendOutcome, type VirtualUser, type VuEvents } from '../../src/protocols/types.js';
import type { ErrorKind } from '../../src/protocols/errors.js';
import type { FromWorker } from '../../src/engine/messages.js';
import { EventRecorder, readRecording } from '../../src/metrics/recording.js';
import { WorkerRun } from '../../src/engine/worker-run.js';
import { COUNTERS, type CounterName } from '../../src/metrics/names.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';

type Fate = 'ok' | 'fail' | 'hang' | 'forever';

interface Mix {
  /** Weights of each fate for an operation. */
  readonly ok: number;
  readonly fail: number;
  readonly hang: number;
  readonly forever: number;
  /** Chance a send is answered "recipient offline" instead (when its fate is ok). */
  readonly offline: number;
  /** Chance a logged-on user's connection drops later on. */
  readonly drop: number;
}

/** Kinds only a destroyed user reports: never server errors (markers outside the taxonomy, cast on purpose). */
const DESTROYED = 'destroyed-by-imload';
const LATE = 'late-report-after-destroy';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomAgent(seed: number, mix: Mix): ProtocolAgent {
  const random = mulberry32(seed);
  const fate = (): Fate => {
    const total = mix.ok + mix.fail + mix.hang + mix.forever;
    let x = random() * total;
    for (const f of ['ok', 'fail', 'hang', 'forever'] as const) if ((x -= mix[f]) < 0) return f;
    return 'ok';
  };
  return {
    capabilities: { channels: true, presence: true, instantMessages: true },
    createUser: (_identity, events: VuEvents): VirtualUser => {
      let destroyed = false;
      let leaving = false;
      const hanging: Array<(error: Error) => void> = [];
      const operation = <T>(value: () => T): Promise<T> =>
        new Promise<T>((resolve, reject) => {
          const f = fate();
          const after = random() * 20;
          if (f === 'ok') setTimeout(() => resolve(value()), after);
          else if (f === 'fail') setTimeout(() => reject(new AgentError('server-error', 'scripted failure')), after);
          else if (f === 'hang') hanging.push(reject);
        });
      const send = (): Promise<SendOutcome> => {
        // An agent may also fail at once, throwing instead of rejecting.
        if (random() < mix.fail / 20) throw new AgentError('send-failed', 'scripted synchronous failure');
        return operation<SendOutcome>(() => (random() < mix.offline ? { ok: false, reason: 'offline' } : { ok: true, recipients: 1 + Math.floor(random() * 3) }));
      };
      return {
        logon: async () => {
          await operation(() => undefined);
          if (random() < mix.drop) {
            setTimeout(() => {
              if (destroyed || leaving) return;
              // Like a real agent: what was in flight on the lost connection fails with it.
              for (const reject of hanging.splice(0)) reject(new AgentError('connection-reset', 'the server dropped the connection'));
              events.disconnected('scripted drop', 'connection-reset');
            }, random() * 200);
          }
        },
        join: () => operation(() => undefined),
        say: send,
        message: send,
        setPresence: () => operation(() => undefined),
        part: () => operation(() => undefined),
        logoff: () => {
          leaving = true;
          return operation(() => undefined);
        },
        destroy: () => {
          if (destroyed) return;
          destroyed = true;
          for (const reject of hanging.splice(0)) reject(new AgentError(DESTROYED as ErrorKind, 'the user was destroyed'));
          // A real agent may still report a failure of the connection it just lost.
          if (random() < 0.5) setTimeout(() => events.error(LATE, 'reported after destroy'), 0);
        },
      };
    },
    close: async () => undefined,
  };
}

function scenario(users: number, rampDownSlots: number | undefined, logonSlots: number | undefined, reconnect: boolean) {
  return parseScenarioText(`version: 1
targets: { chat: { url: irc://127.0.0.1:6667 } }
scenarios:
  s:
    target: chat
    seed: 7
    timeScale: 200
    population: { users: ${users}, contacts: 2, channels: { count: 1 } }
    behaviour:
      messagesPerHour: 360
      channelMessagesPerHour: 360
      presenceChangesPerHour: 360
      drain: 0s
      logonTimeout: 100ms
      joinTimeout: 100ms
      reconnect: { enabled: ${reconnect}, initialDelay: 10ms, maxDelay: 40ms, maxAttempts: 3 }
    phases:
      - { phase: rampUp, rate: 100${logonSlots ? `, maxInFlight: ${logonSlots}` : ''} }
      - { phase: hold, duration: 300ms }
      - { phase: rampDown, rate: 50${rampDownSlots ? `, maxInFlight: ${rampDownSlots}` : ''} }
`).scenarios.s!;
}

interface Case {
  readonly seed: number;
  readonly users: number;
  readonly mix: Mix;
  readonly stopAtMs: number;
  readonly graceMs: number;
  readonly logonSlots: number | undefined;
  readonly logoffSlots: number | undefined;
  readonly reconnect: boolean;
}

async function runCase(c: Case) {
  const messages: FromWorker[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const run = new WorkerRun(
    (message) => {
      messages.push(message);
      if (message.type === 'done') done();
    },
    { stopGraceMs: c.graceMs },
  );
  const plan = new WorkloadPlan(scenario(c.users, c.logoffSlots, c.logonSlots, c.reconnect));
  const path = join(mkdtempSync(join(tmpdir(), 'imload-prop-')), 'events.ndjson.gz');
  const recorder = new EventRecorder(path);
  run.start({
    worker: 0,
    workers: 1,
    plan,
    agent: randomAgent(c.seed, c.mix),
    startEpochMs: performance.timeOrigin + performance.now(),
    identities: Array.from({ length: c.users }, (_, i) => plan.identity(i)),
    recorder,
  });
  setTimeout(() => void run.stop(), c.stopAtMs);
  await finished;
  const totals = Object.fromEntries(COUNTERS.map((name) => [name, 0])) as Record<CounterName, number>;
  const errors: Record<string, number> = {};
  let lastOnline = -1;
  for (const message of messages) {
    if (message.type !== 'metrics') continue;
    for (const [name, value] of Object.entries(message.snapshot.counters) as [CounterName, number][]) totals[name] += value;
    for (const [kind, value] of Object.entries(message.snapshot.errors)) errors[kind] = (errors[kind] ?? 0) + value;
    lastOnline = message.snapshot.online;
  }
  return { totals, errors, lastOnline, recording: await readRecording(path) };
}

const mix = fc.record({
  ok: fc.integer({ min: 1, max: 10 }),
  fail: fc.integer({ min: 0, max: 3 }),
  hang: fc.integer({ min: 0, max: 3 }),
  forever: fc.integer({ min: 0, max: 2 }),
  offline: fc.double({ min: 0, max: 0.3, noNaN: true }),
  drop: fc.double({ min: 0, max: 0.4, noNaN: true }),
});

const cases = fc.record({
  seed: fc.integer(),
  users: fc.integer({ min: 1, max: 8 }),
  mix,
  stopAtMs: fc.integer({ min: 0, max: 700 }),
  graceMs: fc.integer({ min: 0, max: 150 }),
  logonSlots: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  logoffSlots: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  reconnect: fc.boolean(),
});

test('every logon, logoff and send has exactly one outcome, however and whenever the run stops', { timeout: 120_000 }, async () => {
  const thrown: unknown[] = [];
  const onThrown = (error: unknown) => thrown.push(error);
  process.on('uncaughtException', onThrown);
  process.on('unhandledRejection', onThrown);
  try {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const { totals, errors, lastOnline, recording } = await runCase(c);
        assert.deepEqual(thrown, [], 'nothing escaped the engine');

        assert.equal(totals.logonAttempts, totals.logonOk + totals.logonFailed + totals.logonCancelled, 'logon outcomes');
        assert.equal(totals.logoffAttempts, totals.logoffs + totals.logoffsFailed + totals.logoffsCutOff, 'logoff outcomes');
        assert.equal(lastOnline, 0, 'nobody online after the stop');
        assert.ok(!(DESTROYED in errors) && !(LATE in errors), `imload's own teardown is not a server error: ${JSON.stringify(errors)}`);

        // Per user, from the recording: one logon record per attempt, and each send (by its seq)
        // settled by exactly one outcome record.
        let logons = 0;
        let neverAttempted = 0;
        let sends = 0;
        let accepted = 0;
        let expected = 0;
        for (let user = 0; user < c.users; user++) {
          const events = recording.get(user) ?? [];
          const attempts = events.filter((e) => e.k === 'logon').length;
          logons += attempts;
          if (attempts === 0) neverAttempted++;
          const outcomes = new Map<number, number>();
          for (const e of events) {
            if (e.k === 'message' || e.k === 'say') {
              sends++;
              outcomes.set(e.seq!, 0);
            }
          }
          for (const e of events) {
            if (e.k !== 'sent' && e.k !== 'send-failed') continue;
            assert.ok(outcomes.has(e.seq), `user ${user}: an outcome for seq ${e.seq}, which was never sent`);
            outcomes.set(e.seq, outcomes.get(e.seq)! + 1);
            if (e.k === 'sent') {
              accepted++;
              expected += e.n;
            }
          }
          for (const [seq, count] of outcomes) assert.equal(count, 1, `user ${user}: send ${seq} has ${count} outcomes`);
        }
        assert.equal(totals.logonAttempts, logons, 'each attempt recorded');
        assert.ok(totals.logonsNotStarted >= neverAttempted, `users that never attempted a logon (${neverAttempted}) are counted as not started (${totals.logonsNotStarted})`);
        assert.ok(totals.logonsNotStarted <= c.users + totals.reconnects);
        assert.equal(totals.messagesSent + totals.channelMessagesSent, sends, 'each send counted');
        assert.equal(sends, accepted + totals.sendsFailed + totals.undeliverable + totals.sendsCancelled, 'send outcomes');
        assert.equal(totals.deliveriesExpected, expected, 'deliveries expected only for accepted sends');
      }),
      { numRuns: 40 },
    );
  } finally {
    process.off('uncaughtException', onThrown);
    process.off('unhandledRejection', onThrown);
  }
});
