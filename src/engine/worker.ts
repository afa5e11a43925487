/**
 * A worker process: runs its part of the population and ships a metrics snapshot every second.
 * Started by the coordinator with an IPC channel; never run by hand.
 */
import type { ProtocolAgent } from '../agents/types.js';
import { loadProtocol } from '../agents/registry.js';
import { HealthSampler } from '../metrics/health.js';
import { MetricsRecorder } from '../metrics/recorder.js';
import { WorkloadPlan, usersOf } from '../scenarios/schedule.js';
import { resolveSecret } from '../scenarios/target.js';
import { importScenarioModule } from '../scenarios/module.js';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';
import { Scheduler } from './scheduler.js';
import { Semaphore } from './semaphore.js';
import { VuRunner, type WorkerContext } from './vu.js';
import { EventRecorder, readRecording } from './recording.js';
import type { Vu } from './vu-api.js';

const send = (message: FromWorker) => process.send?.(message);
const now = () => performance.timeOrigin + performance.now();

// Ctrl-C reaches the whole process group; the coordinator decides how the run stops.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

let runners: VuRunner[] = [];
let agent: ProtocolAgent | undefined;
let scheduler: Scheduler | undefined;
let metrics: MetricsRecorder | undefined;
let health: HealthSampler | undefined;
let ticker: NodeJS.Timeout | undefined;
let firstTick: NodeJS.Timeout | undefined;
let stopping = false;
/** How long a stopping run waits for its users' logoffs before cutting them off. */
const STOP_GRACE_MS = 8000;
let logoffs: Semaphore | undefined;
let recorder: EventRecorder | undefined;
const notesSent = new Set<string>();
let workerIndex: number | undefined;

// A bug that escapes a socket or timer callback (in an agent or a user script): the coordinator
// stops the run as failed, naming it, while this worker logs its users off and ships what it
// measured, rather than dying with its last second and its users' sessions.
// Only the first is reported: a bug on a hot path would otherwise throw once per datagram.
let internalErrorReported = false;
process.on('uncaughtException', (thrown: unknown) => {
  if (internalErrorReported) return;
  internalErrorReported = true;
  // Anything can be thrown (a string has no name, message or stack); Node wraps an unhandled
  // rejection's non-Error reason in an Error itself.
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  const where = workerIndex === undefined ? 'worker' : `worker ${workerIndex}`;
  const debug = process.env.IMLOAD_DEBUG ? `\n${error.stack}` : '';
  process.stderr.write(`imload: internal error in ${where}: ${error.message}${debug}\n`);
  // After the coordinator has disconnected (the run is over) there is nobody left to tell.
  if (process.connected) send({ type: 'fatal', kind: 'internal-error', message: `${where}: ${error.name}: ${error.message}` });
});

process.on('message', (message: ToWorker) => {
  if (message.type === 'init') void init(message).catch(fatal);
  else if (message.type === 'stop') void stop().catch(fatal);
  else if (message.type === 'query-online') {
    send({ type: 'online', id: message.id, count: metrics?.online ?? 0 });
  }
});
process.on('disconnect', () => {
  // The coordinator is gone (killed): drop everything rather than linger as an orphan.
  for (const runner of runners) runner.destroy();
  process.exit(0);
});

function fatal(error: unknown): void {
  send({ type: 'fatal', kind: (error as { kind?: string }).kind ?? 'worker-error', message: (error as Error).message });
}

function note(key: string, text: string): void {
  if (notesSent.has(key) || notesSent.size > 200) return;
  notesSent.add(key);
  send({ type: 'note', key, text });
}

async function init(message: WorkerInit): Promise<void> {
  const { scenario, target } = message;
  workerIndex = message.worker;
  const plan = new WorkloadPlan(scenario);
  const protocol = await loadProtocol(target.protocol);
  agent = await protocol.createAgent(target);
  metrics = new MetricsRecorder(message.worker);
  health = new HealthSampler(message.worker);
  scheduler = new Scheduler(now);
  const logons = Semaphore.share(plan.timeline.maxLogonsInFlight, message.workers);
  logoffs = Semaphore.share(plan.timeline.maxLogoffsInFlight, message.workers);
  const sharedPassword = resolveSecret(message.passwords.target);
  if (message.recordPath) recorder = new EventRecorder(message.recordPath);
  const replay = message.replay ? { events: await readRecording(message.replay.path), speed: message.replay.speed } : undefined;
  const userScript = message.scriptPath
    ? ((await importScenarioModule(message.scriptPath)) as { user: (vu: Vu) => Promise<void> }).user
    : undefined;
  const context: WorkerContext = {
    plan,
    agent,
    metrics,
    scheduler,
    logons,
    logoffs,
    startEpochMs: message.startEpochMs,
    now,
    note,
    get stopping() {
      return stopping;
    },
    recorder,
    replay,
    userScript,
  };
  const part = { segment: message.segment, segments: message.segments, worker: message.worker, workers: message.workers };
  for (const index of usersOf(plan.users, part)) {
    const name = plan.name(index);
    const password = message.passwords.population ? resolveSecret(message.passwords.population, name) : sharedPassword;
    const source = message.spreadSourceAddresses ? `127.0.0.${2 + (index % 250)}` : undefined;
    runners.push(new VuRunner(context, plan.identity(index, password, source)));
  }
  for (const runner of runners) runner.start();
  const tick = () => {
    const active = runners.reduce((n, r) => n + (r.active ? 1 : 0), 0);
    send({ type: 'metrics', snapshot: metrics!.snapshot(health!.sample(active)) });
  };
  // Align ticks to whole seconds of the run so every worker's second covers the same span.
  const untilNextSecond = 1000 - ((now() - message.startEpochMs) % 1000 + 1000) % 1000;
  firstTick = setTimeout(() => {
    tick();
    ticker = setInterval(tick, 1000);
  }, untilNextSecond);
  send({ type: 'ready' });
  // Counting presence notifications needs every user's watchers: built now, in slices, rather
  // than all at once at the first presence change, in the middle of the run (watchers.ts).
  if (agent.capabilities.presence && scenario.behaviour.presenceChangesPerHour > 0) void plan.prepareWatchers().catch(fatal);
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  scheduler?.stop();
  // Log everyone off (at most rampDown's maxInFlight at a time), bounded: a server that no longer
  // answers must not hold the run.
  await Promise.race([
    Promise.allSettled(runners.map((runner) => runner.logoff())),
    new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS)),
  ]);
  const cutShort = logoffs?.queued ?? 0;
  if (cutShort > 0) {
    note(
      'logoffs-cut-short',
      `${cutShort} users were still waiting for a logoff slot (rampDown maxInFlight) when the run ended; they were disconnected without logging off`,
    );
  }
  const interrupted = runners.reduce((n, runner) => n + (runner.loggingOff ? 1 : 0), 0);
  if (interrupted > 0) {
    note(
      'logoffs-interrupted',
      `${interrupted} logoffs were still in progress ${STOP_GRACE_MS / 1000} s after the run ended; they were cut off (disconnected), not counted as errors`,
    );
  }
  for (const runner of runners) runner.destroy();
  clearTimeout(firstTick);
  clearInterval(ticker);
  await agent?.close().catch(() => {});
  await recorder?.close().catch(() => {});
  if (metrics) send({ type: 'metrics', snapshot: metrics.snapshot(health?.sample(0)) });
  health?.stop();
  runners = [];
  // The coordinator disconnects us once it has the final snapshot; 'disconnect' then exits.
  send({ type: 'done' });
}
