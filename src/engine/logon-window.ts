/**
 * The logons one worker lets run at once. With `maxInFlight: auto` the window adapts to a server
 * that paces connections, the way TCP adapts to a congested path (AIMD, with TCP's response to a
 * retransmission timeout): a throttle signal or a timeout halves the window's target, successes
 * widen it again by one per window's worth. Slowness alone never shrinks it: a server that takes
 * a second to register everyone (a chat server that registers clients on a timer tick) is slow, not throttling, and keeping logons
 * queued here would only hide that it is slow.
 *
 * A server that throttles often refuses at once and keeps refusing for a while (a connection-flood
 * guard locks everyone out for its timeout): every logon sent into that lockout is a failed
 * logon. So a cut pauses new logons, 1 s and doubling while the pushback goes on (at most 16 s),
 * then sends a single logon as a probe; once logons succeed again the window climbs back quickly
 * (one slot per success, TCP's slow start) to the halved target, and by one per window beyond it.
 *
 * Per worker: each worker adapts its own window to what its own logons meet (no coordination
 * across processes); together the workers still halve when the server pushes back on all of them.
 */
import type { ErrorKind } from '../protocols/errors.js';

/** How one logon attempt ended, as the window needs it. */
export interface LogonAttemptEnd {
  /** When the attempt took its slot (the worker's clock). */
  readonly startedAt: number;
  /** The error kind of a failed attempt (AgentError kinds); absent for a success. */
  readonly failure?: string;
}

/**
 * Failures that mean "too many at once": the server said so (`throttled`: the agent classifies a
 * server's "throttled", "too fast" or "retry after" answers so) or gave no answer in time. Anything
 * else (a wrong password, a taken nick) says nothing about load.
 */
const PUSHBACK: ReadonlySet<string> = new Set<ErrorKind>(['throttled', 'logon-timeout', 'connect-timeout']);
/**
 * A refused or reset connection is pushback only while other logons succeed (a full listen
 * backlog); when nobody gets through, the server is down, and the reconnect backoff handles that.
 */
const REFUSALS: ReadonlySet<string> = new Set<ErrorKind>(['connect-refused', 'connection-reset']);
/** "While others succeed": a logon succeeded this recently. */
const OTHERS_SUCCEED_MS = 2000;

/** What the window saw, for the journal. */
export interface LogonWindowStats {
  readonly adaptive: boolean;
  /** Attempts that ended in a pushback (see PUSHBACK, REFUSALS). */
  readonly pushbacks: number;
  /** Times the window was halved. */
  readonly cuts: number;
  /** The smallest and current window; Infinity while it has never been cut (no cap). */
  readonly min: number;
  readonly current: number;
  /** Where slow start stops after a cut: half the logons in flight when the pushback began. */
  readonly target: number;
  /** Time-weighted mean window from its first cut to the last logon's end; undefined before any cut. */
  readonly mean?: number;
}

/** The first pause after a cut, and the longest while the pushback goes on (see the top). */
const FIRST_PAUSE_MS = 1000;
const LONGEST_PAUSE_MS = 16_000;

export interface LogonWindowOptions {
  /** A fixed cap (`maxInFlight: N`): never adapts. Unset: adaptive, uncapped until the first pushback. */
  readonly fixed?: number;
  /** The adaptive window never grows past this (default: no ceiling). */
  readonly ceiling?: number;
  readonly now: () => number;
  /** Calls `wake` at `time` (the worker's scheduler): when a pause ends. */
  readonly at: (time: number, wake: () => void) => void;
  /** Told of each pushback and whether it cut the window (for counters). */
  readonly onPushback?: (cut: boolean) => void;
}

export class LogonWindow {
  /** Logons allowed at once (Infinity: uncapped, until the first pushback). */
  private limit: number;
  /** Successes since the window last grew: one more slot per window's worth of them. */
  private credit = 0;
  private readonly ceiling: number;
  private readonly adaptive: boolean;
  private inFlight = 0;
  /** Slow start up to here after a cut: half the logons in flight when the pushback began. */
  private threshold = Number.POSITIVE_INFINITY;
  /** Cuts since the last success (the pushback goes on), and the pause the last one set. */
  private cutsInARow = 0;
  private pausedUntil = Number.NEGATIVE_INFINITY;
  private closed = false;
  private lastSuccessAt = Number.NEGATIVE_INFINITY;
  private readonly waiting: Array<() => void> = [];
  /** Attempts that started before the last cut were sent under the old window: they cannot cut it again. */
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private pushbacks = 0;
  private cuts = 0;
  private min: number;
  /** Integral of the window over time since the first cut, and when it was last updated. */
  private area = 0;
  private areaSince: number | undefined;
  private firstCutAt: number | undefined;
  private lastEndAt: number | undefined;

  constructor(private readonly options: LogonWindowOptions) {
    this.adaptive = options.fixed === undefined;
    this.ceiling = this.adaptive ? Math.max(1, options.ceiling ?? Number.POSITIVE_INFINITY) : Math.max(1, options.fixed!);
    this.limit = this.ceiling;
    this.min = this.limit;
  }

  /**
   * One worker's share of rampUp's `maxInFlight` across `workers`: a fixed number split evenly,
   * or `auto`, an adaptive window in every worker.
   */
  static share(maxInFlight: number | 'auto', workers: number, clock: Pick<LogonWindowOptions, 'now' | 'at' | 'onPushback'>): LogonWindow {
    if (maxInFlight === 'auto') return new LogonWindow(clock);
    return new LogonWindow({ ...clock, fixed: Math.max(1, Math.ceil(maxInFlight / workers)) });
  }

  /** Logons allowed at once now (whole slots). */
  get size(): number {
    return this.limit;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** No logon in flight, none waiting for a slot. */
  get idle(): boolean {
    return this.inFlight === 0 && this.waiting.length === 0;
  }

  acquire(): Promise<void> {
    if (this.inFlight < this.size && !this.paused()) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /**
   * Gives the slot back. `end` says how the attempt went; without it (a logon the run's end or a
   * logoff cut short) the window learns nothing.
   */
  release(end?: LogonAttemptEnd): void {
    const flight = this.inFlight;
    this.inFlight--;
    if (end) this.learn(end, flight);
    this.grant();
  }

  private learn(end: LogonAttemptEnd, flight: number): void {
    const now = this.options.now();
    this.accumulate(now);
    this.lastEndAt = now;
    if (end.failure === undefined) {
      // Grow only while the window is what holds logons back: a window never filled proves nothing.
      this.cutsInARow = 0;
      this.lastSuccessAt = now;
      const limited = flight >= this.size || this.waiting.length > 0;
      if (!this.adaptive || !limited || this.limit >= this.ceiling) return;
      if (this.limit < this.threshold || ++this.credit >= this.limit) {
        this.limit++;
        this.credit = 0;
      }
      return;
    }
    const refusedWhileOthersSucceed = REFUSALS.has(end.failure) && now - this.lastSuccessAt <= OTHERS_SUCCEED_MS;
    if (!PUSHBACK.has(end.failure) && !refusedWhileOthersSucceed) return;
    this.pushbacks++;
    const cut = this.adaptive && end.startedAt >= this.lastCutAt;
    if (cut) {
      // The target: half what was actually in flight (TCP's FlightSize / 2; an uncapped window
      // has no size), set once per episode. Then one probe after the pause, and slow start.
      if (this.cutsInARow === 0) this.threshold = Math.max(1, Math.floor(Math.min(this.limit, flight) / 2));
      this.limit = 1;
      this.credit = 0;
      this.lastCutAt = now;
      this.pausedUntil = now + Math.min(LONGEST_PAUSE_MS, FIRST_PAUSE_MS * 2 ** this.cutsInARow++);
      this.options.at(this.pausedUntil, () => this.grant());
      this.cuts++;
      this.min = Math.min(this.min, this.limit);
      if (this.firstCutAt === undefined) this.firstCutAt = this.areaSince = now;
    }
    this.options.onPushback?.(cut);
  }

  private accumulate(now: number): void {
    if (this.areaSince === undefined) return;
    this.area += this.size * (now - this.areaSince);
    this.areaSince = now;
  }

  private paused(): boolean {
    return this.closed || this.options.now() < this.pausedUntil;
  }

  /**
   * The run is stopping: no logon starts any more. Callers still waiting keep waiting (their
   * users are logged off or destroyed by the stop), so none starts after the worker closed its
   * recording.
   */
  close(): void {
    this.closed = true;
  }

  private grant(): void {
    if (this.paused()) return;
    while (this.inFlight < this.size && this.waiting.length > 0) {
      this.inFlight++;
      this.waiting.shift()!();
    }
  }

  stats(): LogonWindowStats {
    const { firstCutAt, lastEndAt } = this;
    let mean: number | undefined;
    // From the first cut to the last logon's end: the idle hold afterwards says nothing.
    if (firstCutAt !== undefined && lastEndAt !== undefined) mean = lastEndAt > firstCutAt ? this.area / (lastEndAt - firstCutAt) : this.size;
    return {
      adaptive: this.adaptive,
      pushbacks: this.pushbacks,
      cuts: this.cuts,
      min: this.cuts > 0 ? this.min : this.adaptive ? Number.POSITIVE_INFINITY : this.size,
      current: this.size,
      target: this.threshold,
      mean,
    };
  }
}
