/** Caps work in flight (logoffs in progress; logons have their own window, logon-window.ts), FIFO, without timers. */
export class Semaphore {
  private available: number;
  private readonly waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.available = limit;
  }

  acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Callers waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** One worker's share of a cap of `total` across `workers`; no cap when `total` is unset. */
  static share(total: number | undefined, workers: number): Semaphore {
    return new Semaphore(total ? Math.max(1, Math.ceil(total / workers)) : Number.POSITIVE_INFINITY);
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.available++;
  }
}
