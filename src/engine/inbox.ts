/**
 * What one user receives, judged by the stamp each message and presence note carries: counted
 * once (duplicates apart), checked against who it was meant for, its latency recorded from the
 * scheduled send, and offered to a script waiting for it (`expect`).
 */
import type { ChannelAssignment, PresenceState, VuIdentity } from '../protocols/types.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import { presenceMethodNote } from '../metrics/names.js';
import { Expectations } from './expectations.js';
import type { PresenceCorrelator } from './presence-correlation.js';
import { parseStamp, RecentIds, TO_PRESENTERS } from './stamp.js';

/** The user's channels, the schedule's and those a script joined. */
export interface ChannelLookup {
  channelNamed(name: string): ChannelAssignment | undefined;
}

/** Where an inbox logs the deliveries it counted. */
export interface InboxReceipts {
  received(sender: number, seq: number, channel: string | undefined): void;
}

export class Inbox {
  private readonly recent = new RecentIds(32);
  readonly expectations = new Expectations();

  constructor(
    private readonly metrics: MetricsRecorder,
    private readonly identity: VuIdentity,
    private readonly channels: ChannelLookup,
    /**
     * Each counted delivery, by its stamp's sender and seq (events.ndjson.gz `recv`). Objects with
     * a method rather than closures, here and for `notes`: one inbox lives per user, and a closure
     * with its context is ~100 bytes of heap a user.
     */
    private readonly receipts?: InboxReceipts,
    /** Matches a notification with no stamp of ours to its change by the schedule; none in replays and scripts. */
    private readonly correlator?: PresenceCorrelator,
    /** Says once per run which method measured presence (journal note). */
    private readonly notes?: { note(key: string, text: string): void },
    /** A network target's user → server: each delivery is also counted as same-server or cross-server. */
    private readonly serverOf?: (index: number) => number,
  ) {
    this.server = serverOf?.(identity.index);
  }

  private readonly server: number | undefined;

  /** `alsoAs`: a protocol latency that records this delivery too (VuEvents.message). */
  message(from: string, text: string, receivedAt: number, channel?: string, alsoAs?: string): void {
    const stamp = parseStamp(text);
    if (!stamp) return;
    const metrics = this.metrics;
    if (this.recent.seen(stamp.sender, stamp.seq)) {
      metrics.add('duplicates');
      return;
    }
    if (!this.intendedFor(stamp.to, channel)) {
      metrics.add('misrouted');
      return;
    }
    metrics.add('deliveriesReceived');
    this.receipts?.received(stamp.sender, stamp.seq, channel);
    metrics.latency('delivery', receivedAt - stamp.scheduledAt);
    if (alsoAs !== undefined) metrics.protocolMetric(alsoAs, receivedAt - stamp.scheduledAt);
    if (this.serverOf) {
      metrics.latency(this.serverOf(stamp.sender) === this.server ? 'deliverySameServer' : 'deliveryCrossServer', receivedAt - stamp.scheduledAt);
    }
    if (this.expectations.waiting) this.expectations.offer({ kind: 'message', from, text, channel });
  }

  presence(contact: string, state: PresenceState, note: string, receivedAt: number, initial: boolean): void {
    if (this.expectations.waiting) this.expectations.offer({ kind: 'presence', contact, state });
    if (initial) {
      this.metrics.add('presenceInitial');
      return;
    }
    const stamp = parseStamp(note);
    let scheduledAt: number | undefined;
    if (stamp) {
      scheduledAt = stamp.scheduledAt;
      this.correlator?.matched(contact, scheduledAt);
      this.notes?.note(presenceMethodNote('stamp'), 'presence measured from the stamp imload sets with each change, relayed by the server');
    } else {
      scheduledAt = this.correlator?.match(contact, state, receivedAt);
      if (scheduledAt === undefined) return;
      this.notes?.note(
        presenceMethodNote('schedule'),
        'presence measured from the standard status alone (no stamp of imload relayed): each notification matched to the scheduled change of that contact to that state',
      );
    }
    this.metrics.add('presenceSeen');
    this.metrics.latency('presence', receivedAt - scheduledAt);
  }

  private intendedFor(to: number, channel: string | undefined): boolean {
    if (to >= 0) return to === this.identity.index && channel === undefined;
    const mine = channel === undefined ? undefined : this.channels.channelNamed(channel);
    if (channel !== undefined && !mine) return false;
    if (to === TO_PRESENTERS) {
      return mine ? mine.role === 'presenter' : this.identity.channels.some((c) => c.role === 'presenter');
    }
    return mine !== undefined;
  }
}
