/** What scripted users wait for (`expect` steps): a matching message or presence change, in time. */
import type { PresenceState } from '../protocols/types.js';

export type ScriptEvent =
  | { readonly kind: 'message'; readonly from: string; readonly text: string; readonly channel?: string }
  | { readonly kind: 'presence'; readonly contact: string; readonly state: PresenceState };

interface Waiter {
  readonly match: (event: ScriptEvent) => boolean;
  readonly resolve: (ok: boolean) => void;
}

export class Expectations {
  private readonly waiters: Waiter[] = [];

  /** Resolves true when an event matches, false after `withinMs`; `settled` reports which. */
  wait(match: (event: ScriptEvent) => boolean, withinMs: number, settled: (ok: boolean) => void): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        match,
        resolve: (ok) => {
          clearTimeout(timer);
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          settled(ok);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), withinMs);
      this.waiters.push(waiter);
    });
  }

  /** Whether any script waits: callers skip building events (every delivery passes here). */
  get waiting(): boolean {
    return this.waiters.length > 0;
  }

  offer(happened: ScriptEvent): void {
    for (const waiter of [...this.waiters]) if (waiter.match(happened)) waiter.resolve(true);
  }
}
