/**
 * Server counters and the per-second series behind `GET /imload/stats`, so tests and the
 * harness can cross-check what the load generator believes (online users above all).
 */

export interface StatsSecond {
  /** Epoch ms at the end of the second. */
  readonly at: number;
  readonly online: number;
  readonly subscriptions: number;
  readonly queueDepth: number;
  readonly requests: number;
  readonly notifiesRelayed: number;
  readonly errors: number;
}

export interface StatsSnapshot {
  readonly role: string;
  readonly domain: string;
  readonly online: number;
  readonly subscriptions: number;
  readonly queueDepth: number;
  readonly connections: number;
  readonly totals: {
    readonly requests: number;
    readonly notifiesRelayed: number;
    readonly redirects: number;
    readonly rejected503: number;
    readonly errors: number;
  };
  /** The last completed seconds, oldest first (at most 60). */
  readonly perSecond: readonly StatsSecond[];
}

const HISTORY = 60;

export class ServerStats {
  requests = 0;
  notifiesRelayed = 0;
  redirects = 0;
  rejected503 = 0;
  errors = 0;
  queueDepth = 0;
  connections = 0;
  private readonly history: StatsSecond[] = [];
  private last = { requests: 0, notifiesRelayed: 0, errors: 0 };

  /** Closes the current second; `online` and `subscriptions` are gauges read from the store. */
  tick(at: number, online: number, subscriptions: number): void {
    this.history.push({
      at,
      online,
      subscriptions,
      queueDepth: this.queueDepth,
      requests: this.requests - this.last.requests,
      notifiesRelayed: this.notifiesRelayed - this.last.notifiesRelayed,
      errors: this.errors - this.last.errors,
    });
    if (this.history.length > HISTORY) this.history.shift();
    this.last = { requests: this.requests, notifiesRelayed: this.notifiesRelayed, errors: this.errors };
  }

  snapshot(role: string, domain: string, online: number, subscriptions: number): StatsSnapshot {
    return {
      role,
      domain,
      online,
      subscriptions,
      queueDepth: this.queueDepth,
      connections: this.connections,
      totals: {
        requests: this.requests,
        notifiesRelayed: this.notifiesRelayed,
        redirects: this.redirects,
        rejected503: this.rejected503,
        errors: this.errors,
      },
      perSecond: this.history.slice(),
    };
  }
}
