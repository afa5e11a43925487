/**
 * The engine's recording slots: its latencies (from the metric registry, registry.ts) and its
 * counters; see docs/metrics.md for what each one means. A protocol's own metrics are in its
 * descriptor and reach the recorder through the registry.
 */
import { ENGINE_LATENCIES, type EngineLatencyName } from './registry.js';

export const LATENCIES = ENGINE_LATENCIES;
export type LatencyName = EngineLatencyName;

/** A user's presence, as the engine sets it and a watcher sees it. */
export type PresenceState = 'online' | 'busy' | 'away' | 'offline';

export const COUNTERS = [
  'logonAttempts',
  'logonOk',
  'logonFailed',
  /** Logon attempts the run's end cut off (in flight or holding a slot): not the server's fault. */
  'logonCancelled',
  /** Users whose scheduled logon never began because the run ended first. */
  'logonsNotStarted',
  'logoffAttempts',
  'logoffs',
  'logoffsFailed',
  /** Of logoffsFailed: logoffs the stop asked for (everyone at once) that failed: teardown, not the server's error. */
  'logoffsFailedAtStop',
  /** Logoffs imload's stop cut off (in flight at the grace's end, or never given a slot). */
  'logoffsCutOff',
  'joinsOk',
  'joinsFailed',
  'messagesSent',
  'channelMessagesSent',
  'sendsFailed',
  /** Sends in flight when the run stopped: their outcome is the run's end, not the server's. */
  'sendsCancelled',
  'undeliverable',
  'deliveriesExpected',
  'deliveriesReceived',
  'duplicates',
  'misrouted',
  'presenceChanges',
  'presenceExpected',
  'presenceSeen',
  'presenceInitial',
  'flowsCompleted',
  'expectsMet',
  'expectsFailed',
  'disconnects',
  'reconnects',
  'bytesIn',
  'bytesOut',
  'errors',
  /** Logon attempts the server pushed back on: throttled, refused, reset or timed out (engine/logon-window.ts). */
  'logonPushbacks',
  /** Times a worker's adaptive logon window (`maxInFlight: auto`) was halved by a pushback. */
  'logonWindowCuts',
  /** Each-instance channels (engine/each-instance.ts): channel posts beyond the first, to the other instances. */
  'instancePosts',
  /** Each-instance channels: copies received beyond a message's first, from the other instances (duplicates by design). */
  'instanceCopies',
  /** Each-instance channels: bytes on users' connections to servers other than their own. */
  'instanceBytesIn',
  'instanceBytesOut',
] as const;
export type CounterName = (typeof COUNTERS)[number];

export const COUNTER_INDEX: Readonly<Record<CounterName, number>> = Object.fromEntries(
  COUNTERS.map((name, i) => [name, i]),
) as Record<CounterName, number>;

/**
 * How a presence notification is matched to the change that caused it (docs/metrics.md,
 * presence.seen): imload's stamp relayed by the server, or the standard status matched against
 * the schedule. A run journals a note keyed `presenceMethodNote(method)` for each method used.
 */
export const PRESENCE_METHODS = ['stamp', 'schedule'] as const;
export type PresenceMethod = (typeof PRESENCE_METHODS)[number];
export const presenceMethodNote = (method: PresenceMethod): string => `presence-method-${method}`;

/** Per-worker generator health, sampled each second. */
export interface GeneratorHealth {
  readonly worker: number;
  /** Event-loop delay over the last second, ms. */
  readonly eventLoopP99: number;
  readonly eventLoopMax: number;
  /** CPU used over the last second, percent of one core. */
  readonly cpuPercent: number;
  readonly rssBytes: number;
  /** RSS once the worker had loaded, before it built anything per user (identities included): RSS above it is the users' cost. */
  readonly baselineRssBytes?: number;
  readonly heapUsedBytes: number;
  readonly openFds: number;
  /** VUs this worker holds (logged on or connecting). */
  readonly vus: number;
  /**
   * Datagrams the kernel dropped on this worker's own UDP sockets in the last second, their
   * receive buffers full: answers lost on imload's host. Absent when none were.
   */
  readonly udpReceiveDrops?: number;
  /** The worker sent no sample this second (stopped, stalled): its last one, repeated without its once-only fields. */
  readonly stale?: true;
  /**
   * The full garbage collection a worker runs once at its ramp's end (docs/metrics.md §
   * Generator health), in the sample of the second it ran in: its pause and RSS either side.
   */
  readonly rampCollection?: RampCollection;
}

export interface RampCollection {
  readonly pauseMs: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
}
