/**
 * A hashed timing wheel (Varghese & Lauck, 1987): many timers that are mostly cancelled before
 * they fire, at the cost of a few field writes each, under one Node timer per wheel.
 *
 * Why not setTimeout: a SIP pool holds a refresh timer per registration, publication and
 * subscription (22 per user, 2.2 million at 100,000 users) and starts a transaction timer for
 * every request (tens of thousands a second), nearly all cleared after a millisecond. Each
 * Node Timeout is an object of about fifteen fields with an async id, plus the closure it calls;
 * here the timer is a few fields on an object that exists anyway (the transaction, the binding),
 * so scheduling allocates nothing.
 *
 * Precision: a timer never fires early, and fires at most one tick (plus event-loop lag) late.
 */

/**
 * Something a wheel can schedule. Owners extend it (rather than holding a timer object) so a
 * scheduled refresh costs three fields on the binding itself.
 */
export abstract class WheelTimer {
  /** @internal Neighbours in the wheel's circular slot list; undefined when not scheduled. */
  wheelNext: WheelTimer | undefined = undefined;
  /** @internal */
  wheelPrev: WheelTimer | undefined = undefined;
  /** @internal Absolute tick at which the timer is due. */
  wheelDue = 0;

  /** Called once when the timer is due; the timer is no longer scheduled and may be rescheduled. */
  abstract expired(): void;

  get scheduled(): boolean {
    return this.wheelNext !== undefined;
  }
}

/** The head of a circular list: never scheduled, never fired. */
class SlotHead extends WheelTimer {
  constructor() {
    super();
    this.wheelNext = this;
    this.wheelPrev = this;
  }
  expired(): void {}
}

function unlink(timer: WheelTimer): void {
  timer.wheelPrev!.wheelNext = timer.wheelNext;
  timer.wheelNext!.wheelPrev = timer.wheelPrev;
  timer.wheelNext = undefined;
  timer.wheelPrev = undefined;
}

function linkBefore(head: WheelTimer, timer: WheelTimer): void {
  const last = head.wheelPrev!;
  timer.wheelPrev = last;
  timer.wheelNext = head;
  last.wheelNext = timer;
  head.wheelPrev = timer;
}

export interface TimerWheelOptions {
  readonly tickMs: number;
  /** Slots in the wheel (rounded up to a power of two); timers further out than slots·tick go round again. */
  readonly slots: number;
  /** Whether pending timers keep the process alive (transactions do; refreshes do not). */
  readonly keepAlive: boolean;
  /** Clock in milliseconds; performance.now unless a test drives time itself. */
  readonly now?: () => number;
  /**
   * Whether input is still waiting to be read (see runNow): the wheel then waits for it, up to
   * `maxDeferMs`, before firing. Transports whose answers stop timers say so.
   */
  readonly inputWaiting?: () => boolean;
  readonly maxDeferMs?: number;
}

export class TimerWheel {
  readonly tickMs: number;
  private readonly heads: SlotHead[];
  private readonly mask: number;
  private readonly firing = new SlotHead();
  private readonly keepAlive: boolean;
  private readonly now: () => number;
  /** The last tick whose slot was run. */
  private lastTick: number;
  private count = 0;
  private ticker: NodeJS.Timeout | undefined;
  private runQueued = false;
  private readonly inputWaiting: (() => boolean) | undefined;
  private readonly maxDeferMs: number;
  /** When the pending run was first put off for waiting input (NaN: not put off). */
  private deferredSince = Number.NaN;

  constructor(options: TimerWheelOptions) {
    this.tickMs = options.tickMs;
    let slots = 1;
    while (slots < options.slots) slots *= 2;
    this.mask = slots - 1;
    this.heads = Array.from({ length: slots }, () => new SlotHead());
    this.keepAlive = options.keepAlive;
    this.now = options.now ?? (() => performance.now());
    this.inputWaiting = options.inputWaiting;
    this.maxDeferMs = options.maxDeferMs ?? 0;
    this.lastTick = Math.floor(this.now() / this.tickMs);
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get size(): number {
    return this.count;
  }

  /** Whether the wheel's Node timer is running (only while timers are scheduled). */
  get ticking(): boolean {
    return this.ticker !== undefined;
  }

  /** (Re)schedules `timer` to fire `delayMs` from now. */
  schedule(timer: WheelTimer, delayMs: number): void {
    if (timer.wheelNext !== undefined) this.cancel(timer);
    const now = this.now();
    if (this.count === 0 && this.ticker === undefined) this.lastTick = Math.floor(now / this.tickMs);
    const due = Math.max(this.lastTick + 1, Math.ceil((now + delayMs) / this.tickMs));
    timer.wheelDue = due;
    linkBefore(this.heads[due & this.mask]!, timer);
    this.count++;
    if (this.ticker === undefined) this.startTicking();
  }

  /** Stops `timer` from firing; nothing happens if it is not scheduled. */
  cancel(timer: WheelTimer): void {
    if (timer.wheelNext === undefined) return;
    unlink(timer);
    this.count--;
  }

  /**
   * Fires every timer due by `now`. The Node timer calls it each tick (after pending I/O has
   * been read, see onTick); tests call it with a clock of their own.
   */
  advance(now = this.now()): void {
    const nowTick = Math.floor(now / this.tickMs);
    if (nowTick > this.lastTick) {
      // After a stall longer than a whole turn every slot is due for a look, each once.
      const from = nowTick - this.lastTick > this.mask ? nowTick - this.mask : this.lastTick + 1;
      for (let tick = from; tick <= nowTick; tick++) this.collect(this.heads[tick & this.mask]!, nowTick);
      this.lastTick = nowTick;
    }
    // Due timers leave their slots first, then fire one by one: a timer may cancel or
    // reschedule any other (including one collected with it) from its expired().
    const firing = this.firing;
    while (firing.wheelNext !== firing) {
      const timer = firing.wheelNext!;
      unlink(timer);
      this.count--;
      timer.expired();
    }
    if (this.count === 0) this.stopTicking();
  }

  private collect(head: SlotHead, nowTick: number): void {
    let timer = head.wheelNext!;
    while (timer !== head) {
      const next = timer.wheelNext!;
      if (timer.wheelDue <= nowTick) {
        unlink(timer);
        linkBefore(this.firing, timer);
      }
      timer = next;
    }
  }

  private startTicking(): void {
    this.ticker = setInterval(onTick, this.tickMs, this);
    if (!this.keepAlive) this.ticker.unref();
  }

  private stopTicking(): void {
    if (this.ticker === undefined) return;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** @internal The tick timer fired: run the wheel once the I/O already waiting has been read. */
  queueRun(): void {
    if (this.runQueued) return;
    this.runQueued = true;
    setImmediate(runQueued, this);
  }

  /**
   * @internal Runs the wheel, unless input is still waiting: a socket reads only a batch of
   * datagrams per event-loop turn, so after a stall (a GC pause) most answers are still in the
   * buffer when the first run comes round, and firing then would retransmit requests already
   * answered — a burst of load the server did not cause. The run is put off turn by turn while
   * input waits, for at most maxDeferMs (a timer is then at most that much later).
   */
  runNow(): void {
    if (this.inputWaiting !== undefined && this.inputWaiting()) {
      const now = this.now();
      if (Number.isNaN(this.deferredSince)) this.deferredSince = now;
      if (now - this.deferredSince < this.maxDeferMs) {
        setImmediate(runQueued, this);
        return;
      }
    }
    this.deferredSince = Number.NaN;
    this.runQueued = false;
    this.advance();
  }
}

/**
 * Node runs expired timers before it polls sockets, so when the event loop lags a timer would
 * fire for requests whose answers sit unread in the socket buffer (a needless retransmission
 * or a false timeout, adding load exactly when there is too much). `setImmediate` runs after
 * the poll phase.
 */
function onTick(wheel: TimerWheel): void {
  wheel.queueRun();
}

function runQueued(wheel: TimerWheel): void {
  wheel.runNow();
}
