/**
 * The outcome of every attempt a run made — logons, logoffs, sends, deliveries — from the
 * journal's counters, and for deliveries from the events file when there is one
 * (docs/metrics.md § Outcomes; docs/summary-schema.md § outcomes).
 */
import type { CounterName } from '../metrics/names.js';

/** Why an expected delivery never arrived; each names the recorded event that explains it. */
export const LOSS_REASONS = ['left-channel', 'logged-off', 'connection-lost', 'membership-race', 'dropped-by-server'] as const;
export type LossReason = (typeof LOSS_REASONS)[number];

/**
 * One expected delivery that did not arrive: lost for a reason; cancelled by the run's end; or lost
 * to a netsplit the lab injected (sender and recipient on different sides while the link was cut).
 * The last two are not the server's losses.
 */
export interface MissedDelivery {
  readonly sender: number;
  /** Population index; null when the sender counted a recipient the events do not show (membership race). */
  readonly recipient: number | null;
  /** The channel, or null for an instant message. */
  readonly channel: string | null;
  /** The send's time, ms since the run's start (the send record's `t`). */
  readonly t: number;
  readonly reason: LossReason | 'cancelled' | 'netsplit';
}

export interface DeliveryOutcomes {
  /** `events`: each send matched with its receipts; `counters`: the journal's totals only (reasons unknown). */
  readonly source: 'events' | 'counters';
  /** Recipients the senders counted for their accepted sends. */
  readonly expected: number;
  /** Expected deliveries that arrived (never more than expected). */
  readonly delivered: number;
  /** Expected deliveries that never arrived, the run's end and injected netsplits apart. */
  readonly lost: number;
  /** `lost` by reason; null when the reasons are unknown (no events file). */
  readonly lostByReason: Readonly<Record<LossReason, number>> | null;
  /** Sent within the delivery timeout before the run began stopping, and not received: not losses. */
  readonly cancelled: number;
  /**
   * Not received, sender and recipient on different sides of a netsplit the lab injected while it
   * was in force (src/analysis/netsplit.ts): the fault's, not the server's, so not in `lost`.
   */
  readonly lostToNetsplit: number;
  /** Receipts beyond the expected ones: of failed or cancelled sends, or more recipients than the sender counted. */
  readonly unexpected: number;
  readonly duplicates: number;
  readonly misrouted: number;
  /** The first lost deliveries (at most MAX_LOSS_EXAMPLES); the full list is losses.ndjson. */
  readonly examples: readonly MissedDelivery[];
  /** Ms a delivery had to arrive before it counted as missed (events only). */
  readonly timeoutMs: number | null;
}

export const MAX_LOSS_EXAMPLES = 100;

export interface Outcomes {
  readonly logons: { readonly attempts: number; readonly ok: number; readonly failed: number; readonly cancelled: number; readonly notStarted: number };
  readonly logoffs: { readonly attempts: number; readonly ok: number; readonly failed: number; readonly cutOff: number };
  readonly sends: {
    readonly im: number;
    readonly channel: number;
    /** Refused because the recipient was offline: no delivery expected. */
    readonly undeliverable: number;
    readonly failed: number;
    /** In flight when the run stopped. */
    readonly cancelled: number;
  };
  readonly deliveries: DeliveryOutcomes;
  /** Failures imload's own stop caused, by kind: never the server's, never in `errors`. */
  readonly teardown: { readonly total: number; readonly byKind: Readonly<Record<string, number>> };
}

type Totals = Readonly<Record<CounterName, number>>;

/**
 * Deliveries from the counters alone: the inbox counts distinct intended receipts, so any beyond
 * the expected ones are unexpected (which ones, the counters cannot say), and the shortfall is lost.
 */
export function deliveriesFromCounters(t: Totals): DeliveryOutcomes {
  const delivered = Math.min(t.deliveriesReceived, t.deliveriesExpected);
  return {
    source: 'counters',
    expected: t.deliveriesExpected,
    delivered,
    lost: t.deliveriesExpected - delivered,
    lostByReason: null,
    lostToNetsplit: 0,
    cancelled: 0,
    unexpected: t.deliveriesReceived - delivered,
    duplicates: t.duplicates,
    misrouted: t.misrouted,
    examples: [],
    timeoutMs: null,
  };
}

export function outcomesOf(t: Totals, teardown: Readonly<Record<string, number>>, deliveries: DeliveryOutcomes): Outcomes {
  return {
    logons: { attempts: t.logonAttempts, ok: t.logonOk, failed: t.logonFailed, cancelled: t.logonCancelled, notStarted: t.logonsNotStarted },
    logoffs: { attempts: t.logoffAttempts, ok: t.logoffs, failed: t.logoffsFailed, cutOff: t.logoffsCutOff },
    sends: { im: t.messagesSent, channel: t.channelMessagesSent, undeliverable: t.undeliverable, failed: t.sendsFailed, cancelled: t.sendsCancelled },
    deliveries,
    teardown: { total: Object.values(teardown).reduce((a, b) => a + b, 0), byKind: teardown },
  };
}

/**
 * errors.rate: failed attempts over attempts, so a ratio of outcomes that cannot pass 1 — not
 * error events over operations, which retransmission and timeout errors could push to 600 %.
 * Teardown failures are not failures of an attempt (they are counted apart): a logoff the stop
 * asked for that failed (`logoffsFailedAtStop`) is left out of the failures.
 */
export function failureRate(t: Totals): number {
  const attempts = t.logonAttempts + t.joinsOk + t.joinsFailed + t.messagesSent + t.channelMessagesSent + t.presenceChanges + t.logoffAttempts;
  const failed = t.logonFailed + t.joinsFailed + t.sendsFailed + t.logoffsFailed - t.logoffsFailedAtStop;
  return attempts > 0 ? failed / attempts : 0;
}
