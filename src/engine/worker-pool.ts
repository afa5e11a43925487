/**
 * The coordinator's worker processes: forks them with their init, and keeps what they say —
 * readiness, each second's snapshots, notes, online counts, a fatal error, done — for the run's
 * steps (coordinator.ts) to read.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { entryPoint } from '../runtime.js';
import { createHistogram, decodeHistogram, encodeHistogram } from '../metrics/histogram.js';
import type { JournalSecond, RunPhase } from '../metrics/journal.js';
import type { CounterName, GeneratorHealth, LatencyName } from '../metrics/names.js';
import type { MetricsSnapshot } from '../metrics/recorder.js';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';

/**
 * Each worker's young generation is capped (MiB per semi-space; V8 keeps two): V8 otherwise grows
 * it to 16 whenever enough survives scavenges — every logon ramp, and again, slowly, through any
 * long hold — and shrinks it when its memory reducer finds the worker quiet. That moved a
 * worker's RSS by up to 30 MiB with nothing of the users' changing: a one-hour soak's RSS climbed
 * 48 MiB in its first 13 minutes as the two workers' young generations grew back after the ramp's
 * collection (bench/RESULTS.md). Capped at 8 the swing is at most 14 MiB a worker and the ceiling
 * 16 MiB lower. Not pinned (a minimum as large): a worker that allocates little — 5,000 RVP users —
 * would then hold 16 MiB it never needed, 3 KiB a user (measured: docs/decisions.md).
 */
export const WORKER_SEMI_SPACE_MIB = 8;

/**
 * Node/V8 flags for the worker processes: the young generation's cap, then IMLOAD_WORKER_NODE_FLAGS
 * (space-separated): heap tuning (`--max-old-space-size=8192`; a `--max-semi-space-size` or
 * `--min-semi-space-size` there replaces the cap) or diagnosis (`--trace-gc`), which NODE_OPTIONS
 * does not accept for V8 flags.
 */
export function workerNodeFlags(): string[] {
  const extra = (process.env.IMLOAD_WORKER_NODE_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '');
  const sized = extra.some((flag) => /^--(max|min)[-_]semi[-_]space[-_]size\b/.test(flag));
  return [...(sized ? [] : [`--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`]), ...extra];
}

/**
 * The workers' environment: this process's, with glibc's malloc held to two arenas unless the
 * user set MALLOC_ARENA_MAX. Native memory outside V8's heap (buffers, libuv requests) otherwise
 * grew +2.2 MiB/h through the one-hour soak, spread over arenas the threads had touched; with
 * two it was flat, −0.01 MiB/h (docs/decisions.md, "Workers' malloc arenas").
 */
export function workerEnv(): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: '2', ...process.env };
}

const WORKER_ENTRY = entryPoint(new URL('./worker.js', import.meta.url));

interface WorkerHandle {
  readonly index: number;
  readonly child: ChildProcess;
  online: number;
  health?: GeneratorHealth;
  done: boolean;
}

/** A worker failed: reported fatal, or exited before saying done. */
export interface WorkerFailure {
  readonly kind: string;
  readonly message: string;
}

export class WorkerPool {
  private readonly handles: WorkerHandle[] = [];
  /** Snapshots received since the last second was folded. */
  private pending: MetricsSnapshot[] = [];
  private readonly notesSeen = new Set<string>();
  private readonly onlineQueries = new Map<number, { remaining: number; total: number; resolve: (n: number) => void }>();
  private readonly readyWorkers = new Set<number>();
  private resolveReady: () => void = () => {};
  private resolveDone: () => void = () => {};
  /** The first failure of any worker, if one failed. */
  failure: WorkerFailure | undefined;
  /** Every worker is ready, or one failed. */
  readonly ready = new Promise<void>((resolve) => (this.resolveReady = resolve));
  /** Every worker said done or exited. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  /** Forks `count` workers and sends each its init; `note` hears each distinct note once. */
  constructor(
    private readonly count: number,
    init: (worker: number) => WorkerInit,
    private readonly note: (key: string, text: string) => void,
  ) {
    for (let w = 0; w < count; w++) this.fork(w, init(w));
  }

  private fork(w: number, init: WorkerInit): void {
    const child = fork(WORKER_ENTRY.file, [], {
      // --expose-gc: the one collection at the ramp's end (HealthSampler.collectRampGarbage).
      execArgv: [...WORKER_ENTRY.execArgv, '--expose-gc', ...workerNodeFlags()],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: workerEnv(),
    });
    const handle: WorkerHandle = { index: w, child, online: 0, done: false };
    this.handles.push(handle);
    child.on('message', (message: FromWorker) => this.receive(handle, message));
    child.on('exit', (code, signal) => {
      if (handle.done) return;
      handle.done = true;
      // A signal (SIGKILL from the OOM killer or a person, SIGABRT from a V8 heap limit) says more than "code null".
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      if (code !== 0) this.failure ??= { kind: 'worker-crash', message: `worker ${w} (pid ${child.pid}) ${how}` };
      this.resolveReady();
      if (this.handles.every((h) => h.done)) this.resolveDone();
    });
    child.send(init satisfies ToWorker);
  }

  private receive(handle: WorkerHandle, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        this.readyWorkers.add(handle.index);
        if (this.readyWorkers.size === this.count) this.resolveReady();
        break;
      case 'metrics':
        this.pending.push(message.snapshot);
        handle.online = message.snapshot.online;
        if (message.snapshot.health) handle.health = message.snapshot.health;
        break;
      case 'note':
        if (!this.notesSeen.has(message.key)) {
          this.notesSeen.add(message.key);
          this.note(message.key, message.text);
        }
        break;
      case 'online': {
        const query = this.onlineQueries.get(message.id);
        if (query) {
          query.total += message.count;
          if (--query.remaining === 0) query.resolve(query.total);
        }
        break;
      }
      case 'fatal':
        this.failure ??= { kind: message.kind, message: message.message };
        this.resolveReady();
        break;
      case 'done':
        handle.done = true;
        handle.child.disconnect();
        if (this.handles.every((h) => h.done)) this.resolveDone();
        break;
    }
  }

  /** Snapshots have arrived since the last `mergeSecond`. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Folds the snapshots received since the last call into one journal second. */
  mergeSecond(t: number, at: number, phase: RunPhase): JournalSecond {
    return mergeSnapshots(t, at, phase, this.pending.splice(0), this.handles);
  }

  /** Gives every worker the run's clock: each schedules its users from it and starts its ticks. */
  start(startEpochMs: number): void {
    for (const h of this.handles) if (!h.done) h.child.send({ type: 'start', startEpochMs } satisfies ToWorker);
  }

  /** Asks every live worker to stop (each logs its users off and says done). */
  stop(reason: string): void {
    for (const h of this.handles) if (!h.done) h.child.send({ type: 'stop', reason } satisfies ToWorker);
  }

  /** The workers' own count of users online now; their last reported figures after 2 s. */
  queryOnline(id: number): Promise<number> {
    return new Promise<number>((resolve) => {
      const live = this.handles.filter((h) => !h.done);
      if (live.length === 0) return resolve(0);
      this.onlineQueries.set(id, { remaining: live.length, total: 0, resolve });
      for (const h of live) h.child.send({ type: 'query-online', id } satisfies ToWorker);
      setTimeout(() => resolve(this.handles.reduce((n, h) => n + h.online, 0)), 2000).unref();
    });
  }

  /** Kills every worker that has not said done. */
  killRemaining(): void {
    for (const h of this.handles) if (!h.done) h.child.kill('SIGKILL');
  }

  /** Each worker's part of events.ndjson.gz, in worker order. */
  recordingParts(eventsPath: string): string[] {
    return this.handles.map((h) => recordingPart(eventsPath, h.index));
  }
}

/** Where a worker writes its part of events.ndjson.gz (joined into `eventsPath` at the end). */
export function recordingPart(eventsPath: string, worker: number): string {
  return `${eventsPath}.w${worker}`;
}

function mergeSnapshots(t: number, at: number, phase: RunPhase, snapshots: MetricsSnapshot[], handles: readonly WorkerHandle[]): JournalSecond {
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
    health: secondHealth(snapshots, handles),
  };
}

/**
 * Each worker's health for the second: its sample (two, when two arrived, as one: the later, its
 * drops summed), or, from a worker that sent none — stopped, stalled — its last one again,
 * marked stale and without what happened once (drops, the ramp's collection), so nothing is
 * counted twice.
 */
export function secondHealth(snapshots: readonly Pick<MetricsSnapshot, 'health'>[], handles: ReadonlyArray<{ readonly index: number; readonly health?: GeneratorHealth }>): GeneratorHealth[] {
  const fresh = new Map<number, GeneratorHealth>();
  for (const { health } of snapshots) {
    if (!health) continue;
    const earlier = fresh.get(health.worker);
    const drops = (earlier?.udpReceiveDrops ?? 0) + (health.udpReceiveDrops ?? 0);
    const collection = health.rampCollection ?? earlier?.rampCollection;
    fresh.set(health.worker, { ...health, ...(drops > 0 ? { udpReceiveDrops: drops } : {}), ...(collection ? { rampCollection: collection } : {}) });
  }
  return handles.flatMap((h) => {
    const sampled = fresh.get(h.index);
    if (sampled) return [sampled];
    if (!h.health) return [];
    const { udpReceiveDrops: _drops, rampCollection: _collection, ...last } = h.health;
    return [{ ...last, stale: true as const }];
  });
}
