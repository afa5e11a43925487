/**
 * The coordinator: forks the worker processes, merges their per-second snapshots into the
 * journal, watches thresholds with abortOnFail, cross-checks the server's own user count and
 * stops the run cleanly on completion, abort, Ctrl-C or SIGTERM.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { entryPoint } from '../runtime.js';
import type { AgentTarget } from '../protocols/types.js';
import { loadProtocol } from '../protocols/registry.js';
import { METRICS } from '../protocols/metric-registry.js';
import { RunAggregate, type RunProgress } from '../metrics/aggregate.js';
import { createHistogram, decodeHistogram, encodeHistogram } from '../metrics/histogram.js';
import { JournalWriter, type JournalFault, type JournalHeader, type JournalSecond, type RunPhase } from '../metrics/journal.js';
import type { CounterName, GeneratorHealth, LatencyName } from '../metrics/names.js';
import { HostSampler } from '../metrics/host.js';
import type { MetricsSnapshot } from '../metrics/recorder.js';
import { evaluateThresholds, thresholdSpecs } from '../analysis/thresholds.js';
import { judgeSaturation } from '../analysis/saturation.js';
import { buildSummary, metricValue, runFigures, type Summary } from '../analysis/summary.js';
import { buildTimeline, type Timeline } from '../scenarios/schedule.js';
import type { Scenario, SecretRef } from '../scenarios/schema.js';
import type { FromWorker, ToWorker } from './messages.js';
import { delay, drainWhileStopping, sleepUntil } from './clock.js';
import { joinRecordings } from '../metrics/recording.js';

/** How long stopping workers get to log off and send their last figures before they are killed. */
const STOP_GRACE_MS = 15_000;

/**
 * Extra Node/V8 flags for the worker processes, from IMLOAD_WORKER_NODE_FLAGS (space-separated):
 * heap tuning (`--max-old-space-size=8192`, `--max-semi-space-size=64`) or diagnosis
 * (`--trace-gc`), which NODE_OPTIONS does not accept for V8 flags.
 */
export function workerNodeFlags(): string[] {
  return (process.env.IMLOAD_WORKER_NODE_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '');
}

const WORKER_ENTRY = entryPoint(new URL('./worker.js', import.meta.url));

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
    /** Resolves with a detail to journal (what the fault did), or nothing. */
    run(): Promise<string | void>;
  }>;
  /** The lab server's process ids now, when the lab started it: its CPU and memory are journaled. */
  readonly serverPids?: () => readonly number[];
}

/** The live progress figures (defined in metrics/, where the report reads them too). */
export type Progress = RunProgress;

export interface RunResult {
  readonly summary: Summary;
  readonly aggregate: RunAggregate;
  readonly reason: 'completed' | 'interrupted' | 'aborted' | 'failed';
}

export class RunStartError extends Error {
  constructor(message: string, readonly kind: string) {
    super(message);
    this.name = 'RunStartError';
  }
}

interface WorkerHandle {
  readonly index: number;
  readonly child: ChildProcess;
  online: number;
  health?: GeneratorHealth;
  done: boolean;
}

export async function runScenario(options: RunOptions): Promise<RunResult> {
  const { scenario, workers: workerCount } = options;
  const timeline = buildTimeline(scenario);
  const journal = new JournalWriter(options.journalPath);
  const entries: Parameters<typeof buildSummary>[0][number][] = [];
  const record = (entry: (typeof entries)[number]) => {
    journal.append(entry);
    entries.push(entry);
  };

  // Workers need a moment to load and build their users; start the clock after that — or at the
  // time every segment of a multi-host run was given, so they share one clock.
  const startEpochMs = options.startAt ?? Math.ceil(Date.now() / 1000) * 1000 + 2000;
  if (startEpochMs < Date.now() + 500) {
    throw new RunStartError(`the start time ${new Date(startEpochMs).toISOString()} is too soon or past (workers need about a second)`, 'start-time');
  }
  const header: JournalHeader = {
    type: 'header',
    version: 1,
    ...options.header,
    startedAt: new Date(startEpochMs).toISOString(),
    startEpochMs,
    timeline: { rampUpEnd: timeline.rampUpEnd, holdEnd: timeline.holdEnd, end: timeline.end },
    workers: workerCount,
    metrics: METRICS.journalMetrics(),
  };
  record(header);
  for (const note of options.notes ?? []) record({ type: 'note', key: note.key, text: note.text });

  const pending: MetricsSnapshot[] = [];
  const notes = new Set<string>();
  const onlineQueries = new Map<number, { remaining: number; total: number; resolve: (n: number) => void }>();
  let fatal: { kind: string; message: string } | undefined;
  const handles: WorkerHandle[] = [];
  const ready = new Set<number>();
  let resolveReady: () => void = () => {};
  const allReady = new Promise<void>((resolve) => (resolveReady = resolve));
  let resolveDone: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (resolveDone = resolve));

  for (let w = 0; w < workerCount; w++) {
    const child = fork(WORKER_ENTRY.file, [], {
      // worker.js from dist/, or worker.ts through imload's own tsx in the checkout (src/runtime.ts).
      execArgv: [...WORKER_ENTRY.execArgv, ...workerNodeFlags()],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const handle: WorkerHandle = { index: w, child, online: 0, done: false };
    handles.push(handle);
    child.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          ready.add(w);
          if (ready.size === workerCount) resolveReady();
          break;
        case 'metrics':
          pending.push(message.snapshot);
          handle.online = message.snapshot.online;
          if (message.snapshot.health) handle.health = message.snapshot.health;
          break;
        case 'note':
          if (!notes.has(message.key)) {
            notes.add(message.key);
            record({ type: 'note', key: message.key, text: message.text });
          }
          break;
        case 'online': {
          const query = onlineQueries.get(message.id);
          if (query) {
            query.total += message.count;
            if (--query.remaining === 0) query.resolve(query.total);
          }
          break;
        }
        case 'fatal':
          fatal ??= { kind: message.kind, message: message.message };
          resolveReady();
          break;
        case 'done':
          handle.done = true;
          child.disconnect();
          if (handles.every((h) => h.done)) resolveDone();
          break;
      }
    });
    child.on('exit', (code) => {
      if (!handle.done) {
        handle.done = true;
        if (code !== 0) fatal ??= { kind: 'worker-crash', message: `worker ${w} exited with code ${code}` };
        resolveReady();
        if (handles.every((h) => h.done)) resolveDone();
      }
    });
    const init: ToWorker = {
      type: 'init',
      worker: w,
      workers: workerCount,
      segment: options.header.segment.index,
      segments: options.header.segment.count,
      scenario,
      target: options.target,
      passwords: options.passwords,
      startEpochMs,
      spreadSourceAddresses: options.spreadSourceAddresses,
      recordPath: options.eventsPath ? `${options.eventsPath}.w${w}` : undefined,
      replay: options.replay,
      scriptPath: options.scriptPath,
    };
    child.send(init);
  }

  await allReady;
  if (fatal) {
    for (const h of handles) h.child.kill('SIGKILL');
    record({ type: 'end', at: Date.now(), reason: 'failed', detail: `${fatal.kind}: ${fatal.message}` });
    throw new RunStartError(fatal.message, fatal.kind);
  }

  const aggregate = new RunAggregate();
  // Once for the whole host, here rather than in each worker: the workers share the host.
  const hostSampler = new HostSampler(options.serverPids);
  const specs = thresholdSpecs(scenario);
  let second = 0;
  let stopReason: RunResult['reason'] | undefined;
  let stopDetail: string | undefined;
  let crossChecked = false;

  const phaseAt = (elapsedMs: number): RunPhase =>
    stopReason ? 'stopping' : elapsedMs < timeline.rampUpEnd + 1000 ? 'rampUp' : elapsedMs < timeline.holdEnd ? 'hold' : 'rampDown';

  const flushSecond = () => {
    second++;
    const snapshots = pending.splice(0);
    const entry = { ...mergeSnapshots(second, startEpochMs + second * 1000, phaseAt(second * 1000), snapshots, handles), ...hostSampler.sample() };
    record(entry);
    aggregate.add(entry);
    options.onProgress?.({
      t: second,
      phase: entry.phase,
      online: entry.online,
      requested: scenario.population.users,
      totals: aggregate.totals,
      deliveryP99: aggregate.latency('delivery').p99,
    });
  };

  const requestStop = (reason: RunResult['reason'], detail?: string) => {
    if (stopReason) return;
    stopReason = reason;
    stopDetail = detail;
    for (const h of handles) if (!h.done) h.child.send({ type: 'stop', reason } satisfies ToWorker);
  };
  options.signal?.addEventListener('abort', () => requestStop('interrupted', 'stopped by signal'), { once: true });

  // Step search: judge each measurement window as soon as its last second is journaled.
  const windows = (timeline.steps ?? []).flatMap((step, k) =>
    // The first window of a step includes its ramp, so logon latency is judged with the step.
    step.windows.map((w, index) => ({ step, last: index === step.windows.length - 1, index, t0: Math.round((index === 0 ? step.start : w.start) / 1000), t1: Math.round(w.end / 1000), k })),
  );
  let failingLevel: number | undefined;
  const judgeWindows = () => {
    while (windows.length > 0 && windows[0]!.t1 <= second) {
      const window = windows.shift()!;
      const inWindow = new RunAggregate();
      for (const entry of entries) if (entry.type === 'second' && entry.t > window.t0 && entry.t <= window.t1) inWindow.add(entry);
      const figures = runFigures(inWindow, window.step.level);
      // A window with no sample of a metric (no logons in a later window) does not break it.
      const results = evaluateThresholds(specs, (m) => metricValue(figures, m, inWindow.histograms), 'pass');
      const failed = results.filter((r) => !r.ok).map((r) => r.name);
      const ok = failed.length === 0 && !figures.generator.bottleneck;
      const saturation = judgeSaturation({ points: inWindow.series, label: `the window at ${window.step.level} users` });
      record({
        type: 'step',
        level: window.step.level,
        window: window.index,
        t0: window.t0,
        t1: window.t1,
        online: inWindow.peakOnline,
        ok,
        failed,
        generatorBottleneck: figures.generator.bottleneck,
        ...(saturation.resources.length > 0 ? { saturated: saturation.resources.map((r) => r.text) } : {}),
      });
      if (!ok) failingLevel ??= window.step.level;
      // Finish the failing step's windows (the verdict's confidence), then stop searching.
      if (failingLevel !== undefined && window.last) {
        requestStop('completed', `step search: SLOs broke at ${failingLevel} users`);
        return;
      }
    }
  };

  const queryOnline = (id: number) =>
    new Promise<number>((resolve) => {
      const live = handles.filter((h) => !h.done);
      if (live.length === 0) return resolve(0);
      onlineQueries.set(id, { remaining: live.length, total: 0, resolve });
      for (const h of live) h.child.send({ type: 'query-online', id } satisfies ToWorker);
      setTimeout(() => resolve(handles.reduce((n, h) => n + h.online, 0)), 2000).unref();
    });

  const faultTimers = (options.faults ?? []).map((fault) =>
    setTimeout(() => {
      // Journaled with the time the action began: a killed server drops users at once.
      const at = Date.now();
      const entry = { type: 'fault' as const, at, t: (at - startEpochMs) / 1000, action: fault.action, target: fault.target };
      fault.run().then(
        (detail) => record(typeof detail === 'string' ? { ...entry, ok: true, detail } : { ...entry, ok: true }),
        (error: Error) => record({ ...entry, ok: false, detail: error.message }),
      );
    }, Math.max(0, startEpochMs + fault.atMs - Date.now())),
  );

  // The main loop: one tick a second, aligned to the run's clock.
  const endAt = startEpochMs + timeline.end + 1000;
  while (!stopReason && Date.now() < endAt) {
    const nextTick = startEpochMs + (second + 1) * 1000;
    await sleepUntil(nextTick, options.signal);
    if (stopReason) break;
    // Give snapshots sent at the tick a moment to arrive before folding the second.
    await delay(50);
    flushSecond();
    judgeWindows();
    const elapsed = second * 1000;
    // Assigned from worker callbacks, which the compiler cannot see through.
    const failure = fatal as { kind: string; message: string } | undefined;
    if (failure) requestStop('failed', `${failure.kind}: ${failure.message}`);
    if (!crossChecked && timeline.holdEnd > timeline.rampUpEnd && elapsed >= timeline.holdEnd - 2000) {
      crossChecked = true;
      record(await crossCheck(options.target, () => queryOnline(second)));
    }
    const abortable = specs.filter((s) => s.abortOnFail && elapsed >= s.delayAbortEval);
    if (abortable.length > 0) {
      const view = runFigures(aggregate, scenario.population.users);
      const failed = evaluateThresholds(abortable, (m) => metricValue(view, m, aggregate.histograms)).filter((r) => !r.ok);
      if (failed.length > 0) requestStop('aborted', `threshold failed: ${failed.map((f) => f.name).join('; ')}`);
    }
  }
  requestStop(stopReason ?? 'completed');
  for (const timer of faultTimers) clearTimeout(timer);
  await drainWhileStopping(allDone, STOP_GRACE_MS, () => startEpochMs + (second + 1) * 1000, flushSecond);
  // A worker that failed while the run was stopping: the run did not end as planned either (read
  // before the workers still running are killed, whose exits would read as failures). An
  // interruption stays one: the user asked for it.
  const lateFailure = fatal as { kind: string; message: string } | undefined;
  if (lateFailure && stopReason !== 'failed' && stopReason !== 'interrupted') {
    stopReason = 'failed';
    stopDetail = `${lateFailure.kind}: ${lateFailure.message}`;
  }
  for (const h of handles) if (!h.done) h.child.kill('SIGKILL');
  // What arrived since the last tick: less than one second, so every journaled second is one.
  if (pending.length > 0) flushSecond();
  if (options.eventsPath) joinRecordings(handles.map((h) => `${options.eventsPath}.w${h.index}`), options.eventsPath);
  for (const note of options.finalNotes?.() ?? []) record({ type: 'note', key: note.key, text: note.text });
  record({ type: 'end', at: Date.now(), reason: stopReason!, detail: stopDetail });
  const { summary } = buildSummary(entries);
  return { summary, aggregate, reason: stopReason! };
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

function mergeSnapshots(t: number, at: number, phase: RunPhase, snapshots: MetricsSnapshot[], handles: WorkerHandle[]): JournalSecond {
  const counters: Partial<Record<CounterName, number>> = {};
  const errors: Record<string, number> = {};
  const teardown: Record<string, number> = {};
  const merged = new Map<LatencyName, ReturnType<typeof createHistogram>>();
  for (const snapshot of snapshots) {
    for (const [name, value] of Object.entries(snapshot.counters) as [CounterName, number][]) counters[name] = (counters[name] ?? 0) + value;
    for (const [kind, value] of Object.entries(snapshot.errors)) errors[kind] = (errors[kind] ?? 0) + value;
    for (const [kind, value] of Object.entries(snapshot.teardown)) teardown[kind] = (teardown[kind] ?? 0) + value;
    for (const [name, encoded] of Object.entries(snapshot.histograms) as [LatencyName, string][]) {
      let histogram = merged.get(name);
      if (!histogram) merged.set(name, (histogram = createHistogram()));
      histogram.add(decodeHistogram(encoded));
    }
  }
  const histograms: Partial<Record<LatencyName, string>> = {};
  for (const [name, histogram] of merged) histograms[name] = encodeHistogram(histogram);
  return {
    type: 'second',
    t,
    at,
    phase,
    online: handles.reduce((n, h) => n + h.online, 0),
    counters,
    errors,
    ...(Object.keys(teardown).length > 0 ? { teardown } : {}),
    histograms,
    health: handles.flatMap((h) => (h.health ? [h.health] : [])),
  };
}

export type { Timeline };
