/**
 * One worker's part of a run: its users, their schedule, its metrics (a snapshot shipped every
 * second) and its stop path. worker.ts is only the process around it (IPC, signals, crashes), so
 * the stop path can be driven in a test without forking.
 */
import type { AgentEvents, ProtocolAgent, VuIdentity } from '../protocols/types.js';
import { loadProtocol } from '../protocols/registry.js';
import { networkServerOf } from '../protocols/network.js';
import { HealthSampler } from '../metrics/health.js';
import { MetricsRecorder } from '../metrics/recorder.js';
import { METRICS } from '../protocols/metric-registry.js';
import { WorkloadPlan, usersOf } from '../scenarios/schedule.js';
import { resolveSecret } from '../scenarios/target.js';
import type { FromWorker, WorkerInit } from './messages.js';
import { EventRecorder } from '../metrics/recording.js';
import { loadReplay, type Replay } from './replay.js';
import { Scheduler } from './scheduler.js';
import { Semaphore } from './semaphore.js';
import { onEveryPeriod } from './clock.js';
import { importScenarioModule } from '../scenarios/module.js';
import { LogonWindow } from './logon-window.js';
import { VuRunner } from './vu.js';
import { eachInstanceOf, type EachInstance } from './each-instance.js';
import type { WorkerContext } from './vu-context.js';
import type { Vu } from './vu-api.js';

/** How long a stopping run waits for its users' logoffs before cutting them off. */
export const STOP_GRACE_MS = 8000;
/**
 * How long after the ramp's last scheduled logon a worker collects the ramp's garbage (long
 * enough for a healthy server to have answered it), and how often it looks again while logons
 * are still in flight or waiting.
 */
export const RAMP_COLLECTION_DELAY_MS = 500;
/** A worker ships its metrics and health once a second of the run. */
const TICK_MS = 1000;

/** What a worker runs: the plan, the protocol's agent and the users this worker holds. */
export interface WorkerSetup {
  readonly worker: number;
  readonly workers: number;
  readonly plan: WorkloadPlan;
  readonly agent: ProtocolAgent;
  readonly startEpochMs: number;
  readonly identities: readonly VuIdentity[];
  readonly recorder?: EventRecorder;
  readonly replay?: Replay;
  readonly userScript?: (vu: Vu) => Promise<void>;
  /** A network target: the server each user index connects to. */
  readonly serverOf?: (index: number) => number;
  /** Each-instance channels: every user connects to every server. */
  readonly eachInstance?: EachInstance;
  /** RSS before this worker built its users' identities (contact lists and all): their cost is the users'. Default: RSS at start. */
  readonly baselineRssBytes?: number;
}

export interface WorkerRunOptions {
  /** Epoch ms with sub-ms precision. */
  readonly now?: () => number;
  readonly stopGraceMs?: number;
}

/** The parts a started run has; absent until `start`. */
interface Started {
  readonly setup: WorkerSetup;
  readonly metrics: MetricsRecorder;
  readonly health: HealthSampler;
  readonly scheduler: Scheduler;
  readonly logons: LogonWindow;
  readonly logoffs: Semaphore;
}

export class WorkerRun {
  private runners: VuRunner[] = [];
  /** What init loaded, waiting for the clock. */
  private loaded: Omit<WorkerSetup, 'startEpochMs'> | undefined;
  private started: Started | undefined;
  private stopping = false;
  private stopTicking: (() => void) | undefined;
  private readonly notesSent = new Set<string>();
  private readonly now: () => number;
  private readonly stopGraceMs: number;

  /**
   * What the agent reports that is none of its users' (AgentEvents): counted for this worker's run
   * as a user's report would be, but recorded against nobody; an error once the run is stopping is
   * teardown. Before `start` no user exists to have caused anything, so nothing is counted.
   * `init` gives it to the agent it creates.
   */
  readonly agentEvents: AgentEvents = {
    bytes: (inBytes, outBytes) => {
      const metrics = this.started?.metrics;
      if (metrics === undefined) return;
      if (inBytes) metrics.add('bytesIn', inBytes);
      if (outBytes) metrics.add('bytesOut', outBytes);
    },
    metric: (name, value) => void this.started?.metrics.protocolMetric(name, value),
    error: (kind, detail) => {
      const metrics = this.started?.metrics;
      if (metrics === undefined) return;
      if (this.stopping) {
        metrics.teardown(kind);
        return;
      }
      metrics.error(kind);
      if (detail) this.note(`error:${kind}`, `${kind}: ${detail}`);
    },
    note: (key, text) => this.note(key, text),
  };

  constructor(
    private readonly send: (message: FromWorker) => void,
    options: WorkerRunOptions = {},
  ) {
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.stopGraceMs = options.stopGraceMs ?? STOP_GRACE_MS;
  }

  /** Users logged on now. */
  get online(): number {
    return this.started?.metrics.online ?? 0;
  }

  /** Loads what the coordinator's init names (protocol, recording, script) and builds the users' identities; ready for `begin`. */
  async init(message: WorkerInit): Promise<void> {
    const { scenario, target } = message;
    const plan = new WorkloadPlan(scenario);
    const protocol = await loadProtocol(target.protocol);
    const agent = await protocol.createAgent(target, this.agentEvents);
    const sharedPassword = resolveSecret(message.passwords.target);
    const recorder = message.recordPath ? new EventRecorder(message.recordPath) : undefined;
    const replay = message.replay ? await loadReplay(message.replay.path, message.replay.speed) : undefined;
    const userScript = message.scriptPath
      ? ((await importScenarioModule(message.scriptPath)) as { user: (vu: Vu) => Promise<void> }).user
      : undefined;
    const part = { segment: message.segment, segments: message.segments, worker: message.worker, workers: message.workers };
    // Everything loaded, nothing per user yet: the generator-memory figure counts from here.
    const baselineRssBytes = process.memoryUsage.rss();
    // The 250 loopback source addresses as 250 strings, not one copy per user (32 bytes each).
    const sources = message.spreadSourceAddresses ? Array.from({ length: 250 }, (_, i) => `127.0.0.${2 + i}`) : undefined;
    const identities = usersOf(plan.users, part).map((index) => {
      const name = plan.name(index);
      const password = message.passwords.population ? resolveSecret(message.passwords.population, name) : sharedPassword;
      const source = sources?.[index % 250];
      return plan.identity(index, password, source);
    });
    const eachInstance = eachInstanceOf(target.network);
    if (eachInstance && !agent.capabilities.eachInstance) throw new Error(`${target.protocol} target ${target.name}: its users cannot post to each instance of a channel (network.channels: each-instance)`);
    // Each-instance: a delivery never crosses servers, so there is no same/cross split to make.
    const serverOf = eachInstance ? undefined : networkServerOf(target.network);
    this.loaded = { worker: message.worker, workers: message.workers, plan, agent, identities, recorder, replay, userScript, serverOf, eachInstance, baselineRssBytes };
    this.send({ type: 'ready' });
    // Counting presence notifications needs every user's watchers: built now, in slices, rather
    // than all at once at the first presence change, in the middle of the run (watchers.ts).
    if (agent.capabilities.presence && scenario.behaviour.presenceChangesPerHour > 0) {
      const own = new Uint8Array(plan.users);
      for (const identity of identities) own[identity.index] = 1;
      void plan.prepareWatchers(1000, (user) => own[user] === 1).catch((error: Error) => this.send({ type: 'fatal', kind: 'worker-error', message: error.message }));
    }
  }

  /**
   * The coordinator's start, once every worker is ready: the users are scheduled from this clock.
   * Ignored before init has loaded (the coordinator never sends it then) and once stopping (a stop
   * that overtook it: nobody is logged on to log off).
   */
  begin(startEpochMs: number): void {
    const loaded = this.loaded;
    if (loaded === undefined || this.started !== undefined || this.stopping) return;
    this.start({ ...loaded, startEpochMs });
  }

  /** Creates the users and schedules them; ships a metrics snapshot each second of the run. */
  start(setup: WorkerSetup): void {
    const { plan, startEpochMs } = setup;
    const metrics = new MetricsRecorder(setup.worker, METRICS);
    const health = new HealthSampler(setup.worker, setup.baselineRssBytes);
    const scheduler = new Scheduler(this.now);
    // Per worker: each worker's window adapts to what its own logons meet (docs/user-guide.md).
    const logons = LogonWindow.share(plan.timeline.maxLogonsInFlight, setup.workers, {
      now: this.now,
      at: (time, wake) => scheduler.at(time, wake),
      onPushback: (cut) => {
        metrics.add('logonPushbacks');
        if (cut) metrics.add('logonWindowCuts');
      },
    });
    const logoffs = Semaphore.share(plan.timeline.maxLogoffsInFlight, setup.workers);
    this.started = { setup, metrics, health, scheduler, logons, logoffs };
    const run = this;
    const context: WorkerContext = {
      plan,
      agent: setup.agent,
      metrics,
      scheduler,
      logons,
      logoffs,
      startEpochMs,
      now: this.now,
      note: (key, text) => this.note(key, text),
      get stopping() {
        return run.stopping;
      },
      recorder: setup.recorder,
      replay: setup.replay,
      userScript: setup.userScript,
      serverOf: setup.serverOf,
      eachInstance: setup.eachInstance,
    };
    this.runners = setup.identities.map((identity) => new VuRunner(context, identity));
    for (const runner of this.runners) runner.start();
    // Once the ramp's logons have all been answered (an all-at-once ramp ends long after its
    // schedule does), and only in a run with a hold: it has a settled stretch for the collection
    // to speak for. Logons never settling before the hold's end: no collection, and the report
    // does not claim one.
    if (plan.timeline.holdEnd > plan.timeline.rampUpEnd && !plan.timeline.steps) {
      const holdEnd = startEpochMs + plan.timeline.holdEnd;
      const collectOnceSettled = () => {
        if (logons.idle) health.collectRampGarbage();
        else if (this.now() + RAMP_COLLECTION_DELAY_MS < holdEnd) scheduler.at(this.now() + RAMP_COLLECTION_DELAY_MS, collectOnceSettled);
      };
      scheduler.at(startEpochMs + plan.timeline.rampUpEnd + RAMP_COLLECTION_DELAY_MS, collectOnceSettled);
    }
    let ticking = false;
    const tick = () => {
      const active = this.runners.reduce((n, r) => n + (r.active ? 1 : 0), 0);
      // The first tick comes less than a second after the sampler started: only the interval's ticks are due every second.
      this.send({ type: 'metrics', snapshot: metrics.snapshot(health.sample(active, ticking ? TICK_MS : undefined)) });
      setup.recorder?.flush();
      ticking = true;
    };
    // Every whole second of the run's clock, so every worker's second covers the same span.
    this.stopTicking = onEveryPeriod(startEpochMs, TICK_MS, this.now, tick);
  }

  /**
   * Logs everyone off (at most rampDown's maxInFlight at a time), bounded by the stop's grace: a
   * server that no longer answers must not hold the run. Then cuts off what is left, ships the
   * last snapshot and says done.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const started = this.started;
    if (started) {
      const { setup, metrics, health, scheduler, logons, logoffs } = started;
      // The moment this worker began stopping: what follows in the recording is teardown.
      setup.recorder?.record({ u: -1, t: Math.round(this.now() - setup.startEpochMs), k: 'stop' });
      scheduler.stop();
      logons.close();
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(this.runners.map((runner) => runner.logoff())),
        new Promise((resolve) => (grace = setTimeout(resolve, this.stopGraceMs))),
      ]);
      clearTimeout(grace);
      const cutShort = logoffs.queued;
      if (cutShort > 0) {
        this.note(
          'logoffs-cut-short',
          `${cutShort} users were still waiting for a logoff slot (rampDown maxInFlight) when the run ended; they were disconnected without logging off`,
        );
      }
      const interrupted = this.runners.reduce((n, runner) => n + (runner.loggingOff ? 1 : 0), 0);
      if (interrupted > 0) {
        this.note(
          'logoffs-interrupted',
          `${interrupted} logoffs were still in progress ${this.stopGraceMs / 1000} s after the run ended; they were cut off (disconnected), not counted as errors`,
        );
      }
      this.notePacing(setup.worker, logons);
      // Settles everything still in flight as cut off by the run, and ships those outcomes at
      // once: an agent slow to close must not keep them from the coordinator (it kills a worker
      // that takes too long). What closing adds (bytes) follows in the last snapshot.
      for (const runner of this.runners) runner.destroy();
      this.stopTicking?.();
      this.send({ type: 'metrics', snapshot: metrics.snapshot() });
      await setup.agent.close().catch(() => {});
      await setup.recorder?.close().catch(() => {});
      this.send({ type: 'metrics', snapshot: metrics.snapshot(health.sample(0)) });
      health.stop();
      this.runners = [];
    }
    // The coordinator disconnects us once it has the final snapshot; 'disconnect' then exits.
    this.send({ type: 'done' });
  }

  /** The coordinator is gone: drop every connection at once. */
  destroyAll(): void {
    for (const runner of this.runners) runner.destroy();
  }

  /** How the server paced this worker's logons, if it pushed back at all (the window is per worker). */
  private notePacing(worker: number, logons: LogonWindow): void {
    const window = logons.stats();
    if (window.pushbacks === 0) return;
    const shape = window.adaptive
      ? window.cuts > 0
        ? `the adaptive logon window was cut ${window.cuts} times (its target halved, to ${window.target} at the last cut): min ${window.min}, mean ${window.mean?.toFixed(1)}, at the end ${window.current} logons in flight`
        : 'the adaptive logon window was never cut'
      : `the logon window is fixed at ${window.current} (maxInFlight), so it did not adapt`;
    this.note(
      `logon-pacing-${worker}`,
      `worker ${worker}: the server pushed back on ${window.pushbacks} logon attempts (throttled, refused, reset or timed out); ${shape}. Logon latency counts the wait from each scheduled logon.`,
    );
  }

  private note(key: string, text: string): void {
    if (this.notesSent.has(key) || this.notesSent.size > 200) return;
    this.notesSent.add(key);
    this.send({ type: 'note', key, text });
  }
}
