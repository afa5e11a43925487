/**
 * Who a fault touched. From each kill of a lab server (the journal's `fault` records) to the next
 * kill of the same target, or the run's end, the events file (events.ndjson.gz) says which users'
 * transactions failed — each error booked as the server's (`error`), and each send the server
 * refused as addressed to an offline user (`send-failed` offline) — and which the deployment
 * retried on another server (`retried`, a protocol's retry metric: a pool's failover), and which
 * sends begun while the target was down (until its restart had it up again) the server accepted
 * only late (`delayed`: more than DELAYED_MS after they began — a director down, its senders'
 * requests retransmitted until it is back). Recovery is
 * the moment every such user had a transaction succeed again: a send it began after its last
 * failure or retry, accepted; a user that began none before the run's end shows no recovery
 * either way and is counted apart. Bounded whatever the population: counts, and a sample of users.
 */
import { forEachRecordedEvent } from '../metrics/recording.js';
import type { JournalFault } from '../metrics/journal.js';

/** Users named per list in summary.json (the counts cover them all). */
export const FAULT_SAMPLE = 20;
/**
 * A send accepted this long after it began is delayed: past SIP's second retransmission (T1
 * 500 ms, then 1 s), and far past what a server that is up takes on loopback (milliseconds).
 */
export const DELAYED_MS = 1000;

/** One user in a fault's sample: its failed (or retried) transactions, by kind, from the first. */
export interface FaultUser {
  /** The user's name, and its population index. */
  readonly user: string;
  readonly index: number;
  /** Seconds since run start. */
  readonly firstAt: number;
  readonly transactions: number;
  /** Error kinds (failures), or the retry metric's name (retries), with counts. */
  readonly kinds: Readonly<Record<string, number>>;
}

export interface FaultTransactions {
  readonly users: number;
  readonly transactions: number;
  readonly byKind: Readonly<Record<string, number>>;
  /** Seconds since run start (null: none). */
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  /** The first users touched, by time, at most FAULT_SAMPLE. */
  readonly sample: readonly FaultUser[];
}

/** Sends accepted late: by kind of send (`message`, `channel-message`), timed from when they began. */
export interface FaultDelays extends FaultTransactions {
  /** DELAYED_MS, in seconds: what counts as late. */
  readonly overSeconds: number;
  /** The longest a delayed send waited to be accepted, seconds (null: none). */
  readonly longestSeconds: number | null;
}

export interface FaultImpact {
  readonly failed: FaultTransactions;
  readonly retried: FaultTransactions;
  readonly delayed: FaultDelays;
  /**
   * When the last of the touched users that tried again had a transaction succeed (null: one of
   * them never did, or none tried again).
   */
  readonly recoveredAt: number | null;
  /** Touched users that began transactions after their last failure or retry, none of which succeeded. */
  readonly notRecovered: UserSample;
  /** Touched users that began no transaction after their last failure or retry (the run's end came first): recovery not seen. */
  readonly noLaterTransaction: UserSample;
}

export interface UserSample {
  readonly users: number;
  /** The first FAULT_SAMPLE by population index. */
  readonly sample: readonly string[];
}

interface Window {
  readonly from: number;
  readonly to: number;
  /** Until when the target was down: the end of the sends that count as delayed by it. */
  readonly downUntil: number;
  readonly failed: Tally;
  readonly retried: Tally;
  readonly delayed: Tally;
  /** Per touched user: its last failure or retry (ms), whether it began a send after it, and the first such success. */
  readonly users: Map<number, { lastIssue: number; triedAgain: boolean; recovered: number | undefined }>;
}

class Tally {
  readonly users = new Map<number, { firstAt: number; transactions: number; kinds: Record<string, number> }>();
  readonly byKind: Record<string, number> = {};
  transactions = 0;
  firstAt = Infinity;
  lastAt = -Infinity;
  /** The longest wait of what was added with one (delays), ms. */
  longestMs = 0;

  add(user: number, t: number, kind: string): void {
    this.transactions++;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    this.firstAt = Math.min(this.firstAt, t);
    this.lastAt = Math.max(this.lastAt, t);
    let seen = this.users.get(user);
    if (!seen) this.users.set(user, (seen = { firstAt: t, transactions: 0, kinds: {} }));
    seen.firstAt = Math.min(seen.firstAt, t);
    seen.transactions++;
    seen.kinds[kind] = (seen.kinds[kind] ?? 0) + 1;
  }

  result(nameOf: (index: number) => string): FaultTransactions {
    const seconds = (ms: number) => Math.round(ms / 100) / 10;
    const sample = [...this.users]
      .sort(([a, x], [b, y]) => x.firstAt - y.firstAt || a - b)
      .slice(0, FAULT_SAMPLE)
      .map(([index, seen]) => ({ user: nameOf(index), index, firstAt: seconds(seen.firstAt), transactions: seen.transactions, kinds: seen.kinds }));
    return {
      users: this.users.size,
      transactions: this.transactions,
      byKind: this.byKind,
      firstAt: this.transactions > 0 ? seconds(this.firstAt) : null,
      lastAt: this.transactions > 0 ? seconds(this.lastAt) : null,
      sample,
    };
  }
}

/**
 * The kills' windows (journal seconds → events ms): each to the same target's next kill, or the
 * end; and the outage within it, until the target's restart had it up again (its start, in
 * journals from before `tookMs`), or the window's end when it was not restarted.
 */
function windowsOf(faults: readonly JournalFault[]): Window[] {
  const kills = faults.filter((f) => f.action === 'kill' && f.ok);
  return kills.map((kill) => {
    const next = kills.find((k) => k.target === kill.target && k.t > kill.t);
    const to = next ? next.t * 1000 : Infinity;
    const restart = faults.find((f) => f.action === 'restart' && f.ok && f.target === kill.target && f.t > kill.t && f.t * 1000 < to);
    const downUntil = restart ? restart.t * 1000 + (restart.tookMs ?? 0) : to;
    return { from: kill.t * 1000, to, downUntil, failed: new Tally(), retried: new Tally(), delayed: new Tally(), users: new Map() };
  });
}

/** (user, seq) as one number, as deliveries.ts keys sends. */
const sendKey = (user: number, seq: number) => user * 2 ** 29 + seq;

/** Each kill's impact, in the order of the kills; null when the run killed nothing. */
export async function analyseFaultImpact(
  eventsPath: string,
  faults: readonly JournalFault[],
  nameOf: (index: number) => string,
): Promise<FaultImpact[] | null> {
  const windows = windowsOf(faults);
  if (windows.length === 0) return null;
  const earliest = Math.min(...windows.map((w) => w.from));
  const windowAt = (t: number) => windows.find((w) => t >= w.from && t < w.to);
  /**
   * Sends begun since the first kill and not yet settled: when each began (whole ms, as the
   * recorder writes them) times 2, plus 1 for a channel message — one number per send, not an
   * object (a long run's report reads millions).
   */
  const begun = new Map<number, number>();
  const issue = (user: number, t: number, kind: string, retry: boolean) => {
    const window = windowAt(t);
    if (!window) return;
    (retry ? window.retried : window.failed).add(user, t, kind);
    const track = window.users.get(user);
    if (track) {
      track.lastIssue = Math.max(track.lastIssue, t);
      track.triedAgain = false;
      track.recovered = undefined;
    } else window.users.set(user, { lastIssue: t, triedAgain: false, recovered: undefined });
  };
  await forEachRecordedEvent(eventsPath, (event) => {
    switch (event.k) {
      case 'message':
      case 'say': {
        if (event.seq === undefined || event.t < earliest) break;
        begun.set(sendKey(event.u, event.seq), Math.round(event.t) * 2 + (event.k === 'say' ? 1 : 0));
        const track = windowAt(event.t)?.users.get(event.u);
        if (track && event.t > track.lastIssue) track.triedAgain = true;
        break;
      }
      case 'sent': {
        const key = sendKey(event.u, event.seq);
        const begin = begun.get(key);
        begun.delete(key);
        if (begin === undefined) break;
        const start = Math.floor(begin / 2);
        const waited = event.t - start;
        // Only a send begun while the target was down: one slow after it was back is not this outage's.
        const delayedIn = waited > DELAYED_MS ? windowAt(start) : undefined;
        if (delayedIn && start < delayedIn.downUntil) {
          delayedIn.delayed.add(event.u, start, begin % 2 === 1 ? 'channel-message' : 'message');
          delayedIn.delayed.longestMs = Math.max(delayedIn.delayed.longestMs, waited);
        }
        const track = windowAt(event.t)?.users.get(event.u);
        if (track && track.recovered === undefined && start > track.lastIssue) track.recovered = event.t;
        break;
      }
      case 'send-failed':
        begun.delete(sendKey(event.u, event.seq));
        // Other failed sends are the server's errors, recorded apart (`error`); cancelled ones imload's.
        if (event.reason === 'offline') issue(event.u, event.t, 'offline', false);
        break;
      case 'error':
        issue(event.u, event.t, event.kind, false);
        break;
      case 'retried':
        issue(event.u, event.t, event.metric, true);
        break;
      default:
        break;
    }
  });
  return windows.map((window) => {
    const tracks = [...window.users];
    const usersWhere = (pick: (track: { triedAgain: boolean; recovered: number | undefined }) => boolean): UserSample => {
      const users = tracks.filter(([, track]) => pick(track)).map(([user]) => user).sort((a, b) => a - b);
      return { users: users.length, sample: users.slice(0, FAULT_SAMPLE).map(nameOf) };
    };
    const notRecovered = usersWhere((track) => track.triedAgain && track.recovered === undefined);
    const recoveries = tracks.flatMap(([, track]) => (track.recovered === undefined ? [] : [track.recovered]));
    const recovered = recoveries.length > 0 && notRecovered.users === 0 ? recoveries.reduce((last, t) => Math.max(last, t), 0) : null;
    return {
      failed: window.failed.result(nameOf),
      retried: window.retried.result(nameOf),
      delayed: {
        ...window.delayed.result(nameOf),
        overSeconds: DELAYED_MS / 1000,
        longestSeconds: window.delayed.transactions > 0 ? Math.round(window.delayed.longestMs / 100) / 10 : null,
      },
      recoveredAt: recovered === null ? null : Math.round(recovered / 100) / 10,
      notRecovered,
      noLaterTransaction: usersWhere((track) => !track.triedAgain),
    };
  });
}
