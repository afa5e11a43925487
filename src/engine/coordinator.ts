/**
 * The coordinator: starts the worker processes (worker-pool.ts), merges their per-second
 * snapshots into the journal, judges step-search windows and thresholds with abortOnFail,
 * cross-checks the server's own user count and stops the run cleanly on completion, abort,
 * Ctrl-C or SIGTERM. `runScenario` reads top-down as its steps.
 */
import type { AgentTarget } from '../protocols/types.js';
import { loadProtocol } from '../protocols/registry.js';
import { RunAggregate, type RunProgress } from '../metrics/aggregate.js';
import { METRICS } from '../protocols/metric-registry.js';
import { JournalWriter, readJournal, type JournalEntry, type JournalFault, type JournalHeader, type RunPhase } from '../metrics/journal.js';
import { HostSampler } from '../metrics/host.js';
import { joinRecordings } from '../metrics/recording.js';
import { evaluateThresholds, thresholdSpecs, type ThresholdSpec } from '../analysis/thresholds.js';
import { judgeSaturation } from '../analysis/saturation.js';
import { generatorMayExplainFailure } from '../analysis/generator.js';
import { buildSummary, metricValue, runFigures, type Summary } from '../analysis/summary.js';
import { buildTimeline, type Step, type Timeline } from '../scenarios/schedule.js';
import type { Scenario, SecretRef } from '../scenarios/schema.js';
import { delay, drainWhileStopping, sleepUntil } from './clock.js';
import { recordingPart, WorkerPool, type WorkerFailure } from './worker-pool.js';
import { nextClockStart, StartGateError, waitAtStartGate } from './start-gate.js';
import { OutputSet, type Output } from '../outputs/output.js';

export { workerNodeFlags } from './worker-pool.js';

/** How long stopping workers get to log off and send their last figures before they are killed. */
const STOP_GRACE_MS = 15_000;

/** What a fault action did, journaled with its fault record: a detail in words and figures (JournalFault). */
export type FaultOutcome = Pick<JournalFault, 'detail' | 'split' | 'relinkMs'>;

export interface RunOptions {
  readonly header: Omit<JournalHeader, 'type' | 'version' | 'startEpochMs' | 'startedAt' | 'timeline' | 'workers'>;
  readonly scenario: Scenario;
  readonly target: AgentTarget;
  readonly passwords: { readonly target?: SecretRef; readonly population?: SecretRef };
  readonly workers: number;
  readonly journalPath: string;
  readonly spreadSourceAddresses: boolean;
  /** Called once a second with the latest point, for the progress line. */
  readonly onProgress?: (progress: Progress) => void;
  /** Lets callers (tests, signals) stop the run early. */
  readonly signal?: AbortSignal;
  /** Write events.ndjson.gz here (each worker a part, joined at the end). */
  readonly eventsPath?: string;
  /** Replay this recording instead of the schedule. */
  readonly replay?: { readonly path: string; readonly speed: number };
  /** Epoch ms at which the run's clock starts (segments on several hosts share one). */
  readonly startAt?: number;
  /**
   * A start gate's directory (start-gate.ts): once the workers are ready, wait there for the start
   * time, which whoever started this run with others writes once all are ready. Not with startAt.
   */
  readonly startGate?: string;
  /** A scenario module exporting `user(vu)`, imported by every worker. */
  readonly scriptPath?: string;
  /** Notes known before the start (the scenario's warnings), journaled after the header. */
  readonly notes?: ReadonlyArray<{ readonly key: string; readonly text: string }>;
  /** Notes known only at the end (e.g. the lab's link traffic), journaled before the end. */
  readonly finalNotes?: () => ReadonlyArray<{ readonly key: string; readonly text: string }>;
  /** Faults to inject at given times (ms from run start); each action's outcome is journaled. */
  readonly faults?: ReadonlyArray<{
    readonly atMs: number;
    readonly action: JournalFault['action'];
    readonly target: string;
    /** Resolves with a detail to journal (what the fault did), with figures the analysis reads, or nothing. */
    run(): Promise<string | void | FaultOutcome>;
  }>;
  /** The lab server's process ids now, when the lab started it: its CPU and memory are journaled. */
  readonly serverPids?: () => readonly number[];
  /** Per-second subscribers (`--out`, the live page): each journal entry and second as it is journaled (src/outputs/output.ts). */
  readonly outputs?: readonly Output[];
}

export type Progress = RunProgress;

export interface RunResult {
  readonly summary: Summary;
  /** The run's totals, errors, teardown and histograms (no per-second series: the summary and the journal have it). */
  readonly aggregate: RunAggregate;
  readonly reason: 'completed' | 'interrupted' | 'aborted' | 'failed';
  /** What each output delivered (OutputSet.stop). */
  readonly outputs?: Awaited<ReturnType<OutputSet['stop']>>;
}

export class RunStartError extends Error {
  constructor(message: string, readonly kind: string) {
    super(message);
    this.name = 'RunStartError';
  }
}

/**
 * Runs a scenario across worker processes, top-down: start the workers (they load and build
 * their users), start the clock (the journal header) once all are ready, drive the run a second
 * at a time, stop the workers, finish (the last figures, the end entry and the summary).
 */
export async function runScenario(options: RunOptions): Promise<RunResult> {
  const timeline = buildTimeline(options.scenario);
  checkStartAt(options.startAt);
  const outputs = new OutputSet(options.outputs ?? []);
  const journal = new RunJournal(options.journalPath, outputs);
  try {
    const workers = await startWorkers(options, journal);
    const gate = await startFromGate(options, workers.failure === undefined);
    const plan = planRun(timeline, options, gate.startAt);
    await outputs.start(plan.header);
    journal.begin(plan.header, options.notes);
    const failure = workers.failure ?? gate.failure;
    if (failure) {
      workers.killRemaining();
      journal.record({ type: 'end', at: Date.now(), reason: 'failed', detail: `${failure.kind}: ${failure.message}` });
      throw new RunStartError(failure.message, failure.kind);
    }
    // Interrupted while they loaded: nobody is scheduled, and the run below stops at once.
    if (!options.signal?.aborted) workers.start(plan.startEpochMs);
    const late = Date.now() - plan.startEpochMs;
    if (late > 0) journal.record({ type: 'note', key: 'start-late', text: `the workers were ready ${(late / 1000).toFixed(1)} s after the start time given (--start-at, or a start gate opened without them): users due to log on before then logged on late (see the logon delay)` });
    const run = new ScenarioRun(plan, options, journal, workers);
    await run.driveSeconds();
    await run.stop();
    const result = run.finish();
    return { ...result, outputs: await outputs.stop({ reason: result.reason }) };
  } finally {
    await outputs.stop({ reason: 'failed' });
  }
}

/** How long a run waits at a start gate for the runs it shares it with. */
const START_GATE_TIMEOUT_MS = 10 * 60_000;

/**
 * With a start gate, the start time the gate gives once this run's workers are ready (`ready`):
 * undefined when the run was interrupted while it waited, a failure when the gate stayed shut.
 */
async function startFromGate(options: RunOptions, ready: boolean): Promise<{ startAt?: number; failure?: WorkerFailure }> {
  if (options.startGate === undefined || !ready) return { startAt: options.startAt };
  try {
    return { startAt: await waitAtStartGate(options.startGate, { signal: options.signal, timeoutMs: START_GATE_TIMEOUT_MS }) };
  } catch (error) {
    if (!(error instanceof StartGateError)) throw error;
    return { failure: { kind: 'start-gate', message: error.message } };
  }
}

/** What the run is once its workers are ready: its timeline, clock and journal header. */
interface RunPlan {
  readonly timeline: Timeline;
  readonly startEpochMs: number;
  readonly header: JournalHeader;
}

/** A start time given for several hosts must leave this one's workers time to load. */
function checkStartAt(startAt: number | undefined): void {
  if (startAt !== undefined && startAt < Date.now() + 500) {
    throw new RunStartError(`the start time ${new Date(startAt).toISOString()} is too soon or past (workers need about a second)`, 'start-time');
  }
}

/**
 * The clock starts once the workers have loaded and built their users, on the next whole second
 * at least half a second away (the start message reaches them in well under that) — or at the
 * time every segment of a multi-host run was given (`startAt`), or its start gate gave once all
 * were ready (`startAt` here, from startFromGate), so they share one clock. A fixed 2 s from
 * the coordinator's own start was too little on a busy host: nine runs loading at once on two
 * cores had their workers ready 4–6 s into their runs, and the ramp's first users logged on in
 * one burst (docs/decisions.md, "every run of the lab on one clock").
 */
function planRun(timeline: Timeline, options: RunOptions, startAt: number | undefined): RunPlan {
  const startEpochMs = startAt ?? nextClockStart();
  const header: JournalHeader = {
    type: 'header',
    version: 1,
    ...options.header,
    startedAt: new Date(startEpochMs).toISOString(),
    startEpochMs,
    timeline: { rampUpEnd: timeline.rampUpEnd, holdEnd: timeline.holdEnd, end: timeline.end },
    workers: options.workers,
    metrics: METRICS.journalMetrics(),
  };
  return { timeline, startEpochMs, header };
}

/**
 * journal.ndjson as the run writes it, passed on to the live outputs. Entries are not kept here:
 * held as objects they grew the coordinator 7.65 MiB an hour at 20,000 IRC users (the soak,
 * bench/RESULTS.md), and a working day at 100,000 users journals ~140 MiB; what is judged during
 * the run is folded as it arrives, and the summary at the end reads the file back.
 */
class RunJournal {
  private readonly writer: JournalWriter;
  /** What the workers noted while loading, before the clock and so the header were known. */
  private early: JournalEntry[] | undefined = [];

  constructor(
    readonly path: string,
    private readonly outputs?: OutputSet,
  ) {
    this.writer = new JournalWriter(path);
  }

  begin(header: JournalHeader, notes: RunOptions['notes'] = []): void {
    const early = this.early ?? [];
    this.early = undefined;
    this.record(header);
    for (const note of notes) this.record({ type: 'note', key: note.key, text: note.text });
    for (const entry of early) this.record(entry);
  }

  record(entry: JournalEntry): void {
    if (this.early) {
      this.early.push(entry);
      return;
    }
    this.writer.append(entry);
    this.outputs?.addEntry(entry);
    if (entry.type === 'second') this.outputs?.addSecond(entry);
  }
}

/** Forks the workers and waits until all are ready (loaded, their users built, no clock yet) or one failed. */
async function startWorkers(options: RunOptions, journal: RunJournal): Promise<WorkerPool> {
  const workers = new WorkerPool(
    options.workers,
    (w) => ({
      type: 'init',
      worker: w,
      workers: options.workers,
      segment: options.header.segment.index,
      segments: options.header.segment.count,
      scenario: options.scenario,
      target: options.target,
      passwords: options.passwords,
      spreadSourceAddresses: options.spreadSourceAddresses,
      recordPath: options.eventsPath ? recordingPart(options.eventsPath, w) : undefined,
      replay: options.replay,
      scriptPath: options.scriptPath,
    }),
    (key, text) => journal.record({ type: 'note', key, text }),
  );
  await workers.ready;
  return workers;
}

/** A step search's measurement window, judged as soon as its last second is journaled. */
interface StepWindow {
  readonly step: Step;
  readonly index: number;
  /** The step's last window. */
  readonly last: boolean;
  /** Seconds of the run it spans: (t0, t1]. */
  readonly t0: number;
  readonly t1: number;
}

function stepWindows(timeline: Timeline): StepWindow[] {
  return (timeline.steps ?? []).flatMap((step) =>
    // The first window of a step includes its ramp, so logon latency is judged with the step.
    step.windows.map((w, index) => ({ step, last: index === step.windows.length - 1, index, t0: Math.round((index === 0 ? step.start : w.start) / 1000), t1: Math.round(w.end / 1000) })),
  );
}

/** A started run: its seconds, its stop and its end. */
class ScenarioRun {
  /** The run so far for progress and abortOnFail; no per-second series (the journal holds it), so it does not grow with the run's length. */
  private readonly aggregate = new RunAggregate({ series: false });
  // Once for the whole host, here rather than in each worker: the workers share the host.
  private readonly hostSampler: HostSampler;
  private readonly specs: ThresholdSpec[];
  /** Step-search windows not yet judged, each with the seconds journaled in it so far. */
  private readonly windows: Array<StepWindow & { readonly seconds: RunAggregate }>;
  /** The first step level whose window failed (step search). */
  private failingLevel: number | undefined;
  /** Seconds journaled so far. */
  private second = 0;
  private stopReason: RunResult['reason'] | undefined;
  private stopDetail: string | undefined;
  private crossChecked = false;
  private faultTimers: NodeJS.Timeout[] = [];

  constructor(
    private readonly plan: RunPlan,
    private readonly options: RunOptions,
    private readonly journal: RunJournal,
    private readonly workers: WorkerPool,
  ) {
    this.hostSampler = new HostSampler(options.serverPids);
    this.specs = thresholdSpecs(options.scenario);
    this.windows = stepWindows(plan.timeline).map((window) => ({ ...window, seconds: new RunAggregate() }));
    // A Ctrl-C while the workers were loading came before this listener: it stops the run at once.
    if (options.signal?.aborted) this.requestStop('interrupted', 'stopped by signal');
    else options.signal?.addEventListener('abort', () => this.requestStop('interrupted', 'stopped by signal'), { once: true });
  }

  /** The main loop: one tick a second, aligned to the run's clock, until the run ends or is stopped. */
  async driveSeconds(): Promise<void> {
    const { startEpochMs, timeline } = this.plan;
    this.scheduleFaults();
    const endAt = startEpochMs + timeline.end + 1000;
    while (!this.stopReason && Date.now() < endAt) {
      const nextTick = startEpochMs + (this.second + 1) * 1000;
      await sleepUntil(nextTick, this.options.signal);
      if (this.stopReason) break;
      // Give snapshots sent at the tick a moment to arrive before folding the second.
      await delay(50);
      this.flushSecond();
      this.judgeWindows();
      const failure = this.workers.failure;
      if (failure) this.requestStop('failed', `${failure.kind}: ${failure.message}`);
      await this.crossCheckNearHoldEnd();
      this.checkAbortOnFail();
    }
  }

  /** Stops the workers: they log off and ship their last figures, within the grace; then the rest are killed. */
  async stop(): Promise<void> {
    this.requestStop(this.stopReason ?? 'completed');
    for (const timer of this.faultTimers) clearTimeout(timer);
    await drainWhileStopping(this.workers.done, STOP_GRACE_MS, () => this.plan.startEpochMs + (this.second + 1) * 1000, () => this.flushSecond());
    // A worker that failed while the run was stopping: the run did not end as planned either (read
    // before the workers still running are killed, whose exits would read as failures). An
    // interruption stays one: the user asked for it.
    const lateFailure = this.workers.failure;
    if (lateFailure && this.stopReason !== 'failed' && this.stopReason !== 'interrupted') {
      this.stopReason = 'failed';
      this.stopDetail = `${lateFailure.kind}: ${lateFailure.message}`;
    }
    this.workers.killRemaining();
  }

  /** The last figures, the events file joined, the end entry and the summary. */
  finish(): RunResult {
    // What arrived since the last tick: less than one second, so every journaled second is one.
    if (this.workers.hasPending) this.flushSecond();
    const { eventsPath } = this.options;
    if (eventsPath) joinRecordings(this.workers.recordingParts(eventsPath), eventsPath);
    for (const note of this.options.finalNotes?.() ?? []) this.journal.record({ type: 'note', key: note.key, text: note.text });
    this.journal.record({ type: 'end', at: Date.now(), reason: this.stopReason!, detail: this.stopDetail });
    // The appends are synchronous: the file holds every entry, the end included.
    const { summary } = buildSummary(readJournal(this.journal.path));
    return { summary, aggregate: this.aggregate, reason: this.stopReason! };
  }

  private requestStop(reason: RunResult['reason'], detail?: string): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.stopDetail = detail;
    this.workers.stop(reason);
  }

  private phaseAt(elapsedMs: number): RunPhase {
    const { timeline } = this.plan;
    return this.stopReason ? 'stopping' : elapsedMs < timeline.rampUpEnd + 1000 ? 'rampUp' : elapsedMs < timeline.holdEnd ? 'hold' : 'rampDown';
  }

  /** Journals the next second: the workers' snapshots merged, with the host's sample. */
  private flushSecond(): void {
    const second = ++this.second;
    const entry = { ...this.workers.mergeSecond(second, this.plan.startEpochMs + second * 1000, this.phaseAt(second * 1000)), ...this.hostSampler.sample() };
    this.journal.record(entry);
    this.aggregate.add(entry);
    for (const window of this.windows) if (entry.t > window.t0 && entry.t <= window.t1) window.seconds.add(entry);
    this.options.onProgress?.({
      t: second,
      phase: entry.phase,
      online: entry.online,
      requested: this.options.scenario.population.users,
      totals: this.aggregate.totals,
      deliveryP99: this.aggregate.latency('delivery').p99,
    });
  }

  /** Step search: judges each measurement window as soon as its last second is journaled. */
  private judgeWindows(): void {
    while (this.windows.length > 0 && this.windows[0]!.t1 <= this.second) {
      const window = this.windows.shift()!;
      const inWindow = window.seconds;
      const figures = runFigures(inWindow, window.step.level);
      // A window with no sample of a metric (no logons in a later window) does not break it.
      const results = evaluateThresholds(this.specs, (m) => metricValue(figures, m, inWindow.histograms), { missing: 'pass', part: this.options.header.segment });
      const failed = results.filter((r) => !r.ok).map((r) => r.name);
      const ok = failed.length === 0 && !figures.generator.bottleneck;
      const saturation = judgeSaturation({ points: inWindow.series, label: `the window at ${window.step.level} users` });
      this.journal.record({
        type: 'step',
        level: window.step.level,
        window: window.index,
        t0: window.t0,
        t1: window.t1,
        online: inWindow.peakOnline,
        ok,
        failed,
        // A window that failed after imload's host lost what the server sent may have failed for imload.
        generatorBottleneck: figures.generator.bottleneck || (failed.length > 0 && generatorMayExplainFailure(figures.generator)),
        ...(saturation.resources.length > 0 ? { saturated: saturation.resources.map((r) => r.text) } : {}),
      });
      if (!ok) this.failingLevel ??= window.step.level;
      // Finish the failing step's windows (the verdict's confidence), then stop searching.
      if (this.failingLevel !== undefined && window.last) {
        this.requestStop('completed', `step search: SLOs broke at ${this.failingLevel} users`);
        return;
      }
    }
  }

  /** Once, just before the hold ends: the server's own count of users beside imload's. */
  private async crossCheckNearHoldEnd(): Promise<void> {
    const { timeline } = this.plan;
    if (this.crossChecked || timeline.holdEnd <= timeline.rampUpEnd || this.second * 1000 < timeline.holdEnd - 2000) return;
    this.crossChecked = true;
    this.journal.record(await crossCheck(this.options.target, () => this.workers.queryOnline(this.second)));
  }

  /** Thresholds with abortOnFail, past their delay, judged on the run so far. */
  private checkAbortOnFail(): void {
    const elapsed = this.second * 1000;
    const abortable = this.specs.filter((s) => s.abortOnFail && elapsed >= s.delayAbortEval);
    if (abortable.length === 0) return;
    const view = runFigures(this.aggregate, this.options.scenario.population.users);
    const failed = evaluateThresholds(abortable, (m) => metricValue(view, m, this.aggregate.histograms), { part: this.options.header.segment }).filter((r) => !r.ok);
    if (failed.length > 0) this.requestStop('aborted', `threshold failed: ${failed.map((f) => f.name).join('; ')}`);
  }

  /** Faults injected at their times; each outcome journaled with the time the action began (a killed server drops users at once). */
  private scheduleFaults(): void {
    const { startEpochMs } = this.plan;
    this.faultTimers = (this.options.faults ?? []).map((fault) =>
      setTimeout(() => {
        const at = Date.now();
        const entry = { type: 'fault' as const, at, t: (at - startEpochMs) / 1000, action: fault.action, target: fault.target };
        const took = () => ({ tookMs: Date.now() - at });
        fault.run().then(
          (outcome) => this.journal.record(typeof outcome === 'string' ? { ...entry, ...took(), ok: true, detail: outcome } : { ...entry, ...outcome, ...took(), ok: true }),
          (error: Error) => this.journal.record({ ...entry, ...took(), ok: false, detail: error.message }),
        );
      }, Math.max(0, startEpochMs + fault.atMs - Date.now())),
    );
  }
}

async function crossCheck(target: AgentTarget, imloadOnline: () => Promise<number>) {
  let serverOnline: number | null = null;
  let source = `${target.protocol} agent`;
  const counted = imloadOnline();
  try {
    const agent = await (await loadProtocol(target.protocol)).createAgent(target);
    try {
      serverOnline = (await Promise.race([agent.serverOnlineCount?.(), delay(5000).then(() => undefined)])) ?? null;
    } finally {
      await agent.close().catch(() => {});
    }
    source = serverOnline === null ? `${target.protocol}: the server offers no count` : `${target.protocol}: the server's own count`;
  } catch (error) {
    source = `${target.protocol}: could not ask the server (${(error as Error).message})`;
  }
  return { type: 'crosscheck' as const, at: Date.now(), imloadOnline: await counted, serverOnline, source };
}

export type { Timeline };
