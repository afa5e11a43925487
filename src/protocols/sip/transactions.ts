/**
 * Client transactions (RFC 3261 § 17.1). Non-INVITE (§ 17.1.2): on UDP the request is
 * retransmitted by Timer E (T1, doubling up to T2; every T2 once a provisional arrived) until a
 * final response or Timer F (64·T1). INVITE (§ 17.1.1, the LCS-shaped IM session): Timer A
 * doubles without a cap and stops at the first provisional; the same 64·T1 bound (Timer B) is
 * kept for the final response, which our own callees send at once. On TCP/TLS the transport is
 * reliable: no retransmissions, the timeout only.
 * Server transactions (§ 17.2.2) are kept as a cache of sent responses so a retransmitted
 * NOTIFY or MESSAGE is answered again but delivered to the user only once.
 */
import { TimerWheel, WheelTimer } from '../timer-wheel.js';
import type { SipResponse } from './message.js';
import { udpInputWaiting } from './udp.js';
import type { ErrorKind } from '../errors.js';

export interface TransactionTimers {
  /** RTT estimate T1 (default 500 ms). */
  readonly t1Ms: number;
  /** Retransmit cap T2 (default 4 s). */
  readonly t2Ms: number;
}

export const DEFAULT_TIMERS: TransactionTimers = { t1Ms: 500, t2Ms: 4000 };

/** No final response before Timer F fired. */
export class SipTimeoutError extends Error {
  constructor(readonly method: string, timeoutMs: number) {
    super(`${method}: no final response within ${timeoutMs} ms`);
    this.name = 'SipTimeoutError';
  }
}

/**
 * The request could not be handed to the transport, or the transport was lost under it: `kind`
 * is the lost connection's (connection-reset, unexpected-close, …), or `send-failed` when
 * imload's own side had no transport to send on.
 */
export class SipTransportError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind = 'send-failed',
    readonly code?: string,
  ) {
    super(message);
    this.name = 'SipTransportError';
  }
}

export interface TransactionSender {
  readonly reliable: boolean;
  /** Sends bytes; false when the transport is closed. */
  send(data: Buffer): boolean;
  /** A request was sent again (Timer E); counted by the caller. */
  retransmitted(method: string): void;
}

/**
 * Who hears how a client transaction ended: two methods rather than a Promise, so the REGISTER
 * path (Registration) settles one promise per REGISTER instead of the transaction's and its own
 * async function's (with the list below, 6.25 → 5.7 KB allocated per REGISTER and a microtask
 * turn fewer: bench/sip-register-path.bench.ts's path, counted with v8.getHeapStatistics).
 */
export interface TransactionWaiter {
  /** The final response (called once, never with a provisional). */
  answered(response: SipResponse): void;
  /** Timer F fired, or the transport was lost or closed (SipTimeoutError, SipTransportError). */
  failed(error: Error): void;
}

/**
 * One client transaction. On UDP a single wheel timer serves Timer E and Timer F: it fires at
 * the next retransmission or at the deadline, whichever is first, so a transaction costs no
 * timer object and no closures (tens of thousands start every second in a pool run). It is also
 * its own link in its user's list of pending transactions: a user has one at a time but at logon
 * (22 then), and an array per user cost a backing store per transaction (~0.2 KB: the array grew
 * from empty at each push and was made afresh once empty, so that it gave its room back).
 */
class Pending extends WheelTimer {
  intervalMs: number;
  proceeding = false;
  /** Neighbours in the owner's list of pending transactions. */
  next: Pending | undefined = undefined;
  prev: Pending | undefined = undefined;

  constructor(
    readonly owner: ClientTransactions,
    readonly branch: string,
    readonly method: string,
    readonly data: Buffer,
    readonly waiter: TransactionWaiter,
    /** performance.now() at which Timer F fires. */
    readonly deadline: number,
    t1Ms: number,
  ) {
    super();
    this.intervalMs = t1Ms;
  }

  expired(): void {
    this.owner.timerDue(this);
  }
}

const transactionWheels = new Map<number, TimerWheel>();

/**
 * The process's wheel for transaction timers of a given T1: ticks of a fiftieth of T1 (10 ms
 * at the default 500 ms), so Timer E fires at most 2 % late; enough slots to hold Timer F
 * (64·T1) without going round.
 */
function transactionWheel(t1Ms: number): TimerWheel {
  const tickMs = Math.min(10, Math.max(1, Math.floor(t1Ms / 50)));
  let wheel = transactionWheels.get(tickMs);
  if (wheel === undefined) {
    wheel = new TimerWheel({
      tickMs,
      slots: Math.ceil((64 * t1Ms) / tickMs) + 1,
      keepAlive: true,
      // Answers still unread after a stall would otherwise be retransmitted for. A fifth of T1
      // is enough to read what a stall leaves (docs/decisions.md), and small beside Timer E's
      // own intervals of T1 to T2.
      inputWaiting: udpInputWaiting,
      maxDeferMs: t1Ms / 5,
    });
    transactionWheels.set(tickMs, wheel);
  }
  return wheel;
}

export class ClientTransactions {
  /** The pending transactions, most recent first (linked through Pending.next/prev). */
  private first: Pending | undefined = undefined;
  private count = 0;
  private readonly timeoutMs: number;
  private readonly wheel: TimerWheel;

  constructor(
    private readonly sender: TransactionSender,
    private readonly timers: TransactionTimers,
  ) {
    this.timeoutMs = 64 * timers.t1Ms;
    this.wheel = transactionWheel(timers.t1Ms);
  }

  get size(): number {
    return this.count;
  }

  /** Sends a request whose top Via carries `branch`; resolves with the final response. */
  start(branch: string, method: string, data: Buffer): Promise<SipResponse> {
    return new Promise((resolve, reject) => this.begin(branch, method, data, { answered: resolve, failed: reject }));
  }

  /**
   * Sends a request whose top Via carries `branch`; `waiter` hears the final response or the
   * failure, once (at once, from inside this call, when the transport is closed).
   */
  begin(branch: string, method: string, data: Buffer, waiter: TransactionWaiter): void {
    if (!this.sender.send(data)) {
      waiter.failed(new SipTransportError(`${method}: transport closed`));
      return;
    }
    const now = performance.now();
    const entry = new Pending(this, branch, method, data, waiter, now + this.timeoutMs, this.timers.t1Ms);
    const first = this.first;
    if (first !== undefined) {
      entry.next = first;
      first.prev = entry;
    }
    this.first = entry;
    this.count++;
    this.arm(entry, now);
  }

  /** Next wake-up: the next retransmission (UDP, unless an INVITE is proceeding) or Timer F. */
  private arm(entry: Pending, now: number): void {
    const retransmits = !this.sender.reliable && !(entry.method === 'INVITE' && entry.proceeding);
    const wait = retransmits ? Math.min(entry.intervalMs, entry.deadline - now) : entry.deadline - now;
    this.wheel.schedule(entry, wait);
  }

  /** @internal Called by the wheel when the entry's timer is due. */
  timerDue(entry: Pending): void {
    if (!this.holds(entry)) return;
    const now = performance.now();
    if (now >= entry.deadline - 1) {
      this.finish(entry, new SipTimeoutError(entry.method, this.timeoutMs));
      return;
    }
    if (this.sender.reliable || (entry.method === 'INVITE' && entry.proceeding)) {
      this.arm(entry, now);
      return;
    }
    if (!this.sender.send(entry.data)) {
      this.finish(entry, new SipTransportError(`${entry.method}: transport closed`));
      return;
    }
    this.sender.retransmitted(entry.method);
    // Timer A (INVITE) doubles without a cap; Timer E stops doubling at T2.
    if (entry.method === 'INVITE') entry.intervalMs *= 2;
    else entry.intervalMs = entry.proceeding ? this.timers.t2Ms : Math.min(entry.intervalMs * 2, this.timers.t2Ms);
    this.arm(entry, now);
  }

  /** Hands a response to its transaction; false when none matches (a late retransmission). */
  receive(branch: string | undefined, method: string | undefined, response: SipResponse): boolean {
    if (branch === undefined) return false;
    const entry = this.find(branch);
    if (entry === undefined || entry.method !== method) return false;
    if (response.status < 200) {
      // § 17.1.1.2: an INVITE in Proceeding is not retransmitted at all (its timer now waits for
      // Timer B only, re-armed when the pending retransmission wakes); § 17.1.2.2: any other
      // request keeps Timer E, at T2, from the retransmission already scheduled.
      entry.proceeding = true;
      entry.intervalMs = this.timers.t2Ms;
      return true;
    }
    this.finish(entry, response);
    return true;
  }

  private find(branch: string): Pending | undefined {
    for (let entry = this.first; entry !== undefined; entry = entry.next) if (entry.branch === branch) return entry;
    return undefined;
  }

  private holds(wanted: Pending): boolean {
    for (let entry = this.first; entry !== undefined; entry = entry.next) if (entry === wanted) return true;
    return false;
  }

  /** Takes a pending entry out of the list and its timer off the wheel, then tells its waiter. */
  private finish(entry: Pending, outcome: SipResponse | Error): void {
    const { next, prev } = entry;
    if (prev === undefined) this.first = next;
    else prev.next = next;
    if (next !== undefined) next.prev = prev;
    entry.next = undefined;
    entry.prev = undefined;
    this.count--;
    this.wheel.cancel(entry);
    if (outcome instanceof Error) entry.waiter.failed(outcome);
    else entry.waiter.answered(outcome);
  }

  /**
   * Fails every pending transaction (connection lost: its kind; user destroyed: send-failed): those
   * pending now, not any a waiter starts as it hears of its failure.
   */
  abortAll(reason: string, kind?: ErrorKind, code?: string): void {
    if (this.first === undefined) return;
    const failing: Pending[] = [];
    for (let entry: Pending | undefined = this.first; entry !== undefined; entry = entry.next) failing.push(entry);
    for (const entry of failing) if (this.holds(entry)) this.finish(entry, new SipTransportError(reason, kind, code));
  }
}

/**
 * Answers already given to incoming requests, kept for Timer J (64·T1 on UDP) so a
 * retransmitted request gets the same answer. Entries expire in insertion order, which is also
 * time order, so pruning only ever looks at the front of the map. One cache serves every user of
 * an agent (keys carry the notifier's branch, unique per transaction): pruned on every request
 * any user receives, it holds the last 64·T1 of traffic, however many users are idle — a cache
 * per user kept each idle user's last burst (20 NOTIFY answers from its logon) indefinitely.
 * The user agent keeps what it answered (a ResponseSpec, mostly one shared constant) rather than
 * the bytes: a response Buffer is a slice of Node's 8 KB pool and keeps the whole slab alive, so
 * 32 s of a logon ramp's NOTIFY answers held about 1.2 KB each (heap snapshot of a worker at
 * 3,000 users: 50,722 cached Buffers on 34 MB of slabs); the same bytes are rebuilt from a
 * retransmission, which carries the same headers.
 */
export class ServerTransactionCache<Answer> {
  private readonly sent = new Map<string, { readonly at: number; readonly answer: Answer }>();

  constructor(private readonly keepMs: number) {}

  lookup(key: string, now: number): Answer | undefined {
    this.prune(now);
    return this.sent.get(key)?.answer;
  }

  remember(key: string, answer: Answer, now: number): void {
    if (this.keepMs <= 0) return;
    this.prune(now);
    this.sent.set(key, { at: now, answer });
  }

  private prune(now: number): void {
    for (const [key, entry] of this.sent) {
      if (now - entry.at < this.keepMs) return;
      this.sent.delete(key);
    }
  }

  clear(): void {
    this.sent.clear();
  }
}
