/**
 * What the each-instance channel mode cost (src/engine/each-instance.ts): the messages and bytes
 * it added over one linked instance of each channel, from the run's counters.
 */
import type { CounterTotals } from '../metrics/aggregate.js';

/** summary.json `eachInstance` (docs/summary-schema.md). */
export interface EachInstanceSummary {
  /** Servers every user connected to, joined each channel on, and posted to. */
  readonly servers: number;
  /** Connections each user held: one per server (a linked network needs one). */
  readonly connectionsPerUser: number;
  /** Channel posts beyond the first: each channel message went to every instance. */
  readonly extraPosts: number;
  /** Copies received beyond a message's first, from the other instances: duplicates by design, not in `messages.duplicates`. */
  readonly extraCopies: number;
  /** extraPosts + extraCopies: messages on the wire a linked network would not carry to or from the users. */
  readonly extraMessages: number;
  /** Bytes on the users' connections to servers other than their own (logon, joins, posts, copies, keep-alives). */
  readonly extraBytesIn: number;
  readonly extraBytesOut: number;
  readonly extraBytes: number;
  /** extraBytes over the bytes of the users' own connections (what one linked instance would carry); null when none. */
  readonly extraBytesRatio: number | null;
  /** What is counted, said beside the figures. */
  readonly counted: string;
}

export const EACH_INSTANCE_COUNTED =
  'extra: every byte on each user’s connections to servers other than its own (its own by the network’s spread, the one a linked network would use), and every channel post and received copy beyond the first; instant messages go through the sender’s own server, so one to a user whose own server differs arrives on an extra connection and counts as extra';

/** The figures, or null when the run did not use the mode (`servers` undefined). */
export function eachInstanceSummary(totals: CounterTotals, servers: number | undefined): EachInstanceSummary | null {
  if (servers === undefined) return null;
  const extraBytesIn = totals.instanceBytesIn;
  const extraBytesOut = totals.instanceBytesOut;
  const extraBytes = extraBytesIn + extraBytesOut;
  const ownBytes = totals.bytesIn + totals.bytesOut - extraBytes;
  return {
    servers,
    connectionsPerUser: servers,
    extraPosts: totals.instancePosts,
    extraCopies: totals.instanceCopies,
    extraMessages: totals.instancePosts + totals.instanceCopies,
    extraBytesIn,
    extraBytesOut,
    extraBytes,
    extraBytesRatio: ownBytes > 0 ? extraBytes / ownBytes : null,
    counted: EACH_INSTANCE_COUNTED,
  };
}
