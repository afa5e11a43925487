/**
 * The agent's audience of a virtual user: the `VuEvents` a `VirtualUser` reports to, one object
 * per connection (per logon attempt). Bytes, metrics and notes are counted; messages and presence
 * go to the user's inbox; failures and a lost connection go to the lifecycle (vu.ts), which
 * judges them. Once the connection is closed (by imload, or lost and counted as a disconnect),
 * its late failures are teardown and it cannot be lost (again); a reconnect gets a new one.
 */
import type { PresenceState, VuEvents } from '../protocols/types.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import type { Inbox } from './inbox.js';

/** What the lifecycle does with what a live connection reports. */
export interface ConnectionOwner {
  /** A failure: a server error, or teardown if imload is stopping or the user is gone. */
  error(kind: string, detail?: string): void;
  /** The connection was lost outside a logoff. */
  lost(reason: string, kind: string): void;
  note(key: string, text: string): void;
  /** One of the user's transactions was retried elsewhere by the deployment (a `retry` metric's sample). */
  retried(metric: string): void;
}

/** Who closed a connection, once closed. */
export type ClosedBy = 'imload' | 'lost';

export class ConnectionEvents implements VuEvents {
  private closer: ClosedBy | undefined;

  // Arrow functions: agents may keep a callback apart from its object. Assigned in the
  // constructor, not as class fields: one ConnectionEvents lives per online user, and under tsx
  // esbuild's keepNames wraps every arrow class field in `__name`, which gives each closure its
  // own `name` property store: 256 bytes more a closure (362 instead of 106 bytes of heap,
  // measured), 1.8 KB per user for these seven (bench/RESULTS.md, "Generator memory per VU").
  readonly bytes: (inBytes: number, outBytes: number) => void;
  readonly message: (from: string, text: string, receivedAt: number, channel?: string, alsoAs?: string) => void;
  readonly presence: (contact: string, state: PresenceState, note: string, receivedAt: number, initial?: boolean) => void;
  /** A sample of a metric the protocol registers (a latency in ms, or a counter increment); a retry names the user. */
  readonly metric: (name: string, value: number) => void;
  readonly note: (key: string, text: string) => void;
  readonly error: (kind: string, detail?: string) => void;
  readonly disconnected: (reason: string, kind?: string) => void;

  constructor(metrics: MetricsRecorder, inbox: Inbox, owner: ConnectionOwner) {
    this.bytes = (inBytes, outBytes) => {
      if (inBytes) metrics.add('bytesIn', inBytes);
      if (outBytes) metrics.add('bytesOut', outBytes);
    };
    this.message = (from, text, receivedAt, channel, alsoAs) => inbox.message(from, text, receivedAt, channel, alsoAs);
    this.presence = (contact, state, note, receivedAt, initial = false) => inbox.presence(contact, state, note, receivedAt, initial);
    this.metric = (name, value) => {
      if (metrics.protocolMetric(name, value) && this.closer === undefined) owner.retried(name);
    };
    this.note = (key, text) => owner.note(key, text);
    // After a loss the disconnect was the error; what the dead connection reports later is not another.
    this.error = (kind, detail) => {
      if (this.closer !== undefined) metrics.teardown(kind);
      else owner.error(kind, detail);
    };
    this.disconnected = (reason, kind = 'unexpected-close') => {
      if (this.closer === undefined) owner.lost(reason, kind);
    };
  }

  get closedBy(): ClosedBy | undefined {
    return this.closer;
  }

  /** Marks the connection closed; the first closer is the one that counts. */
  close(by: ClosedBy): void {
    this.closer ??= by;
  }
}
