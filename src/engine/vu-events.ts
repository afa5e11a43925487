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

  // Methods, not per-object closures: one ConnectionEvents lives per online user, and seven
  // arrow functions with their shared context cost ~450 bytes of heap a user (a SIP worker's
  // heap snapshot: 7 closures of 56 bytes each plus the context). Agents call them on the object,
  // as VuEvents declares them (methods); none keeps one apart.
  constructor(
    private readonly metrics: MetricsRecorder,
    private readonly inbox: Inbox,
    private readonly owner: ConnectionOwner,
  ) {}

  bytes(inBytes: number, outBytes: number): void {
    if (inBytes) this.metrics.add('bytesIn', inBytes);
    if (outBytes) this.metrics.add('bytesOut', outBytes);
  }

  message(from: string, text: string, receivedAt: number, channel?: string, alsoAs?: string): void {
    this.inbox.message(from, text, receivedAt, channel, alsoAs);
  }

  presence(contact: string, state: PresenceState, note: string, receivedAt: number, initial = false): void {
    this.inbox.presence(contact, state, note, receivedAt, initial);
  }

  /** A sample of a metric the protocol registers (a latency in ms, or a counter increment); a retry names the user. */
  metric(name: string, value: number): void {
    if (this.metrics.protocolMetric(name, value) && this.closer === undefined) this.owner.retried(name);
  }

  note(key: string, text: string): void {
    this.owner.note(key, text);
  }

  /** After a loss the disconnect was the error; what the dead connection reports later is not another. */
  error(kind: string, detail?: string): void {
    if (this.closer !== undefined) this.metrics.teardown(kind);
    else this.owner.error(kind, detail);
  }

  disconnected(reason: string, kind = 'unexpected-close'): void {
    if (this.closer === undefined) this.owner.lost(reason, kind);
  }

  get closedBy(): ClosedBy | undefined {
    return this.closer;
  }

  /** Marks the connection closed; the first closer is the one that counts. */
  close(by: ClosedBy): void {
    this.closer ??= by;
  }
}
