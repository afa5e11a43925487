/**
 * Every lost delivery explained: reads events.ndjson.gz (src/metrics/recording.ts), matches each
 * send with its receipts and gives each expected delivery that never arrived a reason that a
 * recorded event supports (docs/metrics.md § Lost deliveries). Streams the file and keeps only
 * numeric columns, so a run of millions of records is read in seconds.
 */
import { createWriteStream } from 'node:fs';
import { forEachRecordedEvent, type RecordedEvent } from '../metrics/recording.js';
import { LOSS_REASONS, MAX_LOSS_EXAMPLES, type DeliveryOutcomes, type LossReason, type MissedDelivery } from './outcomes.js';
import { MAX_SPLIT_EXAMPLES, measureHeal, splitAcross, splitOffOnline, type SplitEvidence, type SplitMeasured, type SplitWindow } from './netsplit.js';

/** How long a delivery may take before it counts as missed (the message stamp's deadline, ms). */
export const DELIVERY_TIMEOUT_MS = 10_000;

export interface DeliveryAnalysisOptions {
  readonly timeoutMs?: number;
  /** Where to write every missed delivery, one JSON object per line. */
  readonly lossesPath?: string;
  /**
   * For an auditorium: its presenters' population indices. A listener's message goes to the
   * presenters only; a presenter's to everyone. Other channels: undefined.
   */
  readonly presentersOf?: (channel: string) => ReadonlySet<number> | undefined;
  /** The counters' view of what the events file cannot tell: duplicates and misrouted receipts. */
  readonly duplicates: number;
  readonly misrouted: number;
  /** The run's netsplits (netsplit.ts): deliveries across one while it was in force are lost to it, not to the server. */
  readonly splits?: readonly SplitWindow[];
}

/** The deliveries' outcomes, and what the events file tells of each netsplit (in `options.splits` order). */
export interface DeliveryAnalysis {
  readonly deliveries: DeliveryOutcomes;
  readonly splits: readonly SplitMeasured[];
}

/** A column of numbers that grows as records are read. */
class Column<T extends Int32Array | Float64Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (size: number) => T,
  ) {}
  push(value: number): number {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length] = value;
    return this.length++;
  }
}
const ints = () => new Column(new Int32Array(1024), (n) => new Int32Array(n));
const floats = () => new Column(new Float64Array(1024), (n) => new Float64Array(n));

const SEND_NO_OUTCOME = 0;
const SEND_OK = 1;
const SEND_FAILED = 2;
/** Refused because the recipient was offline (as the sender's server saw it): no delivery expected. */
const SEND_RECIPIENT_OFFLINE = 3;

const EV_LOGON = 0;
const EV_LOGOFF = 1;
const EV_DISCONNECT = 2;
const EV_JOIN = 3;
const EV_PART = 4;
const EVENT_KIND: Readonly<Record<string, number>> = { logon: EV_LOGON, logoff: EV_LOGOFF, disconnect: EV_DISCONNECT, join: EV_JOIN, part: EV_PART };

/** (sender, seq) as one number: senders below 2^24, seqs below 2^29 stay exact. */
const sendKey = (sender: number, seq: number) => sender * 2 ** 29 + seq;

/** What the file holds, as columns. */
class Recording {
  readonly channels = new Map<string, number>();
  readonly channelNames: string[] = [];
  readonly sendIndex = new Map<number, number>();
  /** `t` of the send record; `ackT` of its outcome record, when the sender's agent counted `n`. */
  readonly send = { u: ints(), t: floats(), ackT: floats(), to: ints(), ch: ints(), state: ints(), n: ints() };
  readonly recv = { u: ints(), from: ints(), seq: ints(), t: floats() };
  readonly ev = { u: ints(), t: floats(), kind: ints(), ch: ints() };
  stopT = Infinity;
  lastT = 0;
  maxUser = 0;
  outcomesSeen = 0;

  channelId(name: string): number {
    let id = this.channels.get(name);
    if (id === undefined) {
      id = this.channelNames.push(name) - 1;
      this.channels.set(name, id);
    }
    return id;
  }

  sendOf(sender: number, seq: number): number {
    const key = sendKey(sender, seq);
    let i = this.sendIndex.get(key);
    if (i === undefined) {
      const s = this.send;
      i = s.u.push(sender);
      s.t.push(0);
      s.ackT.push(0);
      s.to.push(-1);
      s.ch.push(-1);
      s.state.push(SEND_NO_OUTCOME);
      s.n.push(0);
      this.sendIndex.set(key, i);
    }
    return i;
  }

  add(e: RecordedEvent): void {
    if (e.u > this.maxUser) this.maxUser = e.u;
    if (e.t > this.lastT) this.lastT = e.t;
    switch (e.k) {
      case 'message':
      case 'say': {
        if (e.seq === undefined) return; // recorded before sends carried their seq
        const i = this.sendOf(e.u, e.seq);
        this.send.t.data[i] = e.t;
        if (e.k === 'message') {
          this.send.to.data[i] = e.toIndex;
          this.maxUser = Math.max(this.maxUser, e.toIndex);
        }
        else this.send.ch.data[i] = this.channelId(e.ch);
        return;
      }
      case 'sent':
      case 'send-failed': {
        this.outcomesSeen++;
        const i = this.sendOf(e.u, e.seq);
        this.send.state.data[i] = e.k === 'sent' ? SEND_OK : e.reason === 'offline' ? SEND_RECIPIENT_OFFLINE : SEND_FAILED;
        this.send.ackT.data[i] = e.t;
        if (e.k === 'sent') this.send.n.data[i] = e.n;
        return;
      }
      case 'recv':
        this.outcomesSeen++;
        if (e.from > this.maxUser) this.maxUser = e.from;
        this.recv.u.push(e.u);
        this.recv.from.push(e.from);
        this.recv.seq.push(e.seq);
        this.recv.t.push(e.t);
        return;
      case 'stop':
        this.stopT = Math.min(this.stopT, e.t);
        return;
      case 'logon':
      case 'logoff':
      case 'disconnect':
      case 'join':
      case 'part':
        this.ev.u.push(e.u);
        this.ev.t.push(e.t);
        this.ev.kind.push(EVENT_KIND[e.k]!);
        this.ev.ch.push(e.k === 'join' || e.k === 'part' ? this.channelId(e.ch) : -1);
        return;
      default:
    }
  }
}

async function readColumns(path: string): Promise<Recording> {
  const recording = new Recording();
  await forEachRecordedEvent(path, (event) => recording.add(event));
  return recording;
}

/** Indices 0..n-1 sorted by a numeric key (stable). */
function sortedBy(n: number, key: (i: number) => number, then?: (i: number) => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => key(a) - key(b) || (then ? then(a) - then(b) : 0) || a - b);
}

/** Order in which reasons are given when a send lost fewer deliveries than it has candidates: explained ones first. */
const REASON_RANK: Readonly<Record<MissedDelivery['reason'], number>> = {
  'left-channel': 0,
  'logged-off': 1,
  'connection-lost': 2,
  cancelled: 3,
  netsplit: 4,
  'membership-race': 5,
  'dropped-by-server': 6,
};

/**
 * Matches sends and receipts in an events file. Null when the file predates send outcomes and
 * receipts (no `sent`, `send-failed` or `recv` record): the caller falls back to the counters.
 */
export async function analyseDeliveries(eventsPath: string, options: DeliveryAnalysisOptions): Promise<DeliveryOutcomes | null> {
  return (await analyseRecording(eventsPath, options))?.deliveries ?? null;
}

/** analyseDeliveries, and what the events file tells of each of `options.splits` (netsplit.ts). */
export async function analyseRecording(eventsPath: string, options: DeliveryAnalysisOptions): Promise<DeliveryAnalysis | null> {
  const r = await readColumns(eventsPath);
  if (r.outcomesSeen === 0) return null;
  const timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const splits = options.splits ?? [];
  // A killed run has no stop record: what was sent within the timeout of the recording's end is cut off too.
  const stopT = Number.isFinite(r.stopT) ? r.stopT : r.lastT;
  const sends = r.send.u.length;
  const { u: sendU, t: sendT, ackT: sendAckT, to: sendTo, ch: sendCh, state: sendState, n: sendN } = {
    u: r.send.u.data, t: r.send.t.data, ackT: r.send.ackT.data, to: r.send.to.data, ch: r.send.ch.data, state: r.send.state.data, n: r.send.n.data,
  };

  // Receipts grouped by send (counting sort); receipts of no recorded send are unexpected.
  let unexpected = 0;
  const recvCount = r.recv.u.length;
  const recvSend = new Int32Array(recvCount);
  const offsets = new Int32Array(sends + 1);
  for (let k = 0; k < recvCount; k++) {
    const i = r.sendIndex.get(sendKey(r.recv.from.data[k]!, r.recv.seq.data[k]!));
    recvSend[k] = i ?? -1;
    if (i === undefined) unexpected++;
    else offsets[i + 1]!++;
  }
  for (let i = 0; i < sends; i++) offsets[i + 1]! += offsets[i]!;
  const recipients = new Int32Array(recvCount);
  const fill = offsets.slice(0, sends);
  for (let k = 0; k < recvCount; k++) if (recvSend[k]! >= 0) recipients[fill[recvSend[k]!]!++] = r.recv.u.data[k]!;

  // Each user's session and membership events in time order, for "what happened to the recipient next".
  const evCount = r.ev.u.length;
  const evU = r.ev.u.data, evT = r.ev.t.data, evKind = r.ev.kind.data, evCh = r.ev.ch.data;
  const byUser = sortedBy(evCount, (k) => evU[k]!, (k) => evT[k]!);
  const userStart = new Int32Array(r.maxUser + 2);
  for (let k = 0; k < evCount; k++) userStart[evU[k]! + 1]!++;
  for (let u = 0; u <= r.maxUser; u++) userStart[u + 1]! += userStart[u]!;

  /** The first of the user's events after `t` (in byUser), by binary search. */
  const firstAfter = (user: number, t: number): number => {
    let lo = userStart[user]!, hi = userStart[user + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (evT[byUser[mid]!]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const DEPARTURE: Readonly<Record<number, LossReason>> = { [EV_LOGOFF]: 'logged-off', [EV_DISCONNECT]: 'connection-lost', [EV_PART]: 'left-channel' };

  /** The reason a recorded event gives for `recipient` missing send i, or the run's end, race or drop. */
  const reasonFor = (i: number, recipient: number, race: boolean): MissedDelivery['reason'] => {
    const t = sendT[i]!, ch = sendCh[i]!, deadline = t + timeoutMs;
    const end = userStart[recipient + 1]!;
    // An instant message's recipient already gone (by its own record) when the server took the message.
    if (ch < 0) {
      const before = firstAfter(recipient, t) - 1;
      if (before >= userStart[recipient]!) {
        const last = evKind[byUser[before]!]!;
        if (last === EV_LOGOFF || last === EV_DISCONNECT) return DEPARTURE[last]!;
      }
    }
    for (let k = firstAfter(recipient, t - 1); k < end; k++) {
      const e = byUser[k]!;
      if (evT[e]! > deadline) break;
      const kind = evKind[e]!;
      if (kind === EV_LOGOFF || kind === EV_DISCONNECT || (kind === EV_PART && evCh[e] === ch)) {
        return evT[e]! >= stopT ? 'cancelled' : DEPARTURE[kind]!;
      }
    }
    const sender = sendU[i]!;
    for (let k = firstAfter(sender, t - 1); k < userStart[sender + 1]!; k++) {
      const e = byUser[k]!;
      if (evT[e]! > deadline) break;
      if (evKind[e] === EV_DISCONNECT) return evT[e]! >= stopT ? 'cancelled' : 'connection-lost';
    }
    if (deadline > stopT) return 'cancelled';
    if (splitAcross(splits, sender, recipient, t, timeoutMs) >= 0) return 'netsplit';
    return race ? 'membership-race' : 'dropped-by-server';
  };

  // Sweep sends and membership events in time order, keeping each channel's members by events.
  const members: Array<Set<number>> = r.channelNames.map(() => new Set());
  const channelsOfUser = new Map<number, Set<number>>();
  const presenters = r.channelNames.map((name) => options.presentersOf?.(name));
  const byTime = sortedBy(evCount, (k) => evT[k]!);
  // Each channel's joins in time order: who joined while a send was on its way.
  const joinsOf: number[][] = r.channelNames.map(() => []);
  for (const k of byTime) if (evKind[k] === EV_JOIN) joinsOf[evCh[k]!]!.push(k);
  /** Users who joined `ch` after the send (t) but by the time its sender counted recipients (ackT): named in a race. */
  const lateJoiners = (ch: number, t: number, ackT: number, skip: (u: number) => boolean): number[] => {
    const joins = joinsOf[ch]!;
    let lo = 0, hi = joins.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (evT[joins[mid]!]! <= t) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let k = lo; k < joins.length && evT[joins[k]!]! <= ackT; k++) {
      const user = evU[joins[k]!]!;
      if (!skip(user) && !out.includes(user)) out.push(user);
    }
    return out;
  };
  const sendsByTime = sortedBy(sends, (i) => sendT[i]!);
  const seen = new Int32Array(r.maxUser + 1).fill(-1);
  let nextEvent = 0;

  let expected = 0, delivered = 0, cancelled = 0, lostToNetsplit = 0;
  const bySplit = splits.map(() => ({ im: 0, channel: 0, examples: [] as MissedDelivery[], refusedIms: 0 }));
  const lostByReason = Object.fromEntries(LOSS_REASONS.map((reason) => [reason, 0])) as Record<LossReason, number>;
  const examples: MissedDelivery[] = [];
  const out = options.lossesPath ? createWriteStream(options.lossesPath) : undefined;
  let pending: string[] = [];
  const flush = async () => {
    if (!out || pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  const miss = (missed: MissedDelivery) => {
    if (missed.reason === 'cancelled') cancelled++;
    else if (missed.reason === 'netsplit') {
      lostToNetsplit++;
      const split = bySplit[splitAcross(splits, missed.sender, missed.recipient!, missed.t, timeoutMs)]!;
      if (missed.channel === null) split.im++;
      else split.channel++;
      if (split.examples.length < MAX_SPLIT_EXAMPLES) split.examples.push(missed);
    } else {
      lostByReason[missed.reason]++;
      if (examples.length < MAX_LOSS_EXAMPLES) examples.push(missed);
    }
    if (out) pending.push(`${JSON.stringify(missed)}\n`);
  };

  for (let s = 0; s < sends; s++) {
    const i = sendsByTime[s]!;
    const t = sendT[i]!;
    // Membership as recorded up to the send's instant (a join is recorded once the server confirmed it).
    for (; nextEvent < evCount && evT[byTime[nextEvent]!]! <= t; nextEvent++) {
      const e = byTime[nextEvent]!;
      const user = evU[e]!, kind = evKind[e]!, ch = evCh[e]!;
      let mine = channelsOfUser.get(user);
      if (kind === EV_JOIN) {
        if (!mine) channelsOfUser.set(user, (mine = new Set()));
        mine.add(ch);
        members[ch]!.add(user);
      } else if (kind === EV_PART) {
        mine?.delete(ch);
        members[ch]!.delete(user);
      } else if (kind === EV_LOGOFF || kind === EV_DISCONNECT) {
        for (const c of mine ?? []) members[c]!.delete(user);
        mine?.clear();
      }
    }
    // Distinct recipients that received send i.
    let received = 0;
    for (let k = offsets[i]!; k < offsets[i + 1]!; k++) {
      const recipient = recipients[k]!;
      if (seen[recipient] === i) continue; // a duplicate: the inbox counted it as such
      seen[recipient] = i;
      if (sendCh[i]! < 0 && recipient !== sendTo[i]) {
        seen[recipient] = -1; // another user's instant message: misrouted, as the inbox counted it
        continue;
      }
      received++;
    }
    if (sendState[i] !== SEND_OK) {
      unexpected += received; // the sender saw it fail or never saw it end: nothing was expected
      if (sendState[i] === SEND_RECIPIENT_OFFLINE && sendCh[i]! < 0) {
        const w = splitAcross(splits, sendU[i]!, sendTo[i]!, t, 0);
        if (w >= 0) bySplit[w]!.refusedIms++;
      }
      continue;
    }
    const n = sendN[i]!;
    expected += n;
    const got = Math.min(received, n);
    delivered += got;
    unexpected += received - got;
    let missing = n - got;
    if (missing === 0) continue;

    const sender = sendU[i]!, ch = sendCh[i]!;
    const channel = ch >= 0 ? r.channelNames[ch]! : null;
    let audience: number[];
    if (ch < 0) audience = [sendTo[i]!];
    else {
      const hosts = presenters[ch];
      const toPresentersOnly = hosts !== undefined && !hosts.has(sender);
      audience = [...members[ch]!].filter((m) => m !== sender && (!toPresentersOnly || hosts.has(m)));
    }
    // During a netsplit the sender's server (and so its count) no longer holds the other side's
    // members, though their own records still show them in the channel: as many as the sender
    // did not count are presumed to be the other side's, no candidates for its misses.
    let uncounted = Math.max(0, audience.length - n);
    const splitOff = new Set(audience.filter((m) => seen[m] !== i && uncounted > 0 && splitAcross(splits, sender, m, t, 0) >= 0 && uncounted-- > 0));
    // The sender's agent counted n recipients; the events (the split apart) show a different membership: a race.
    const race = ch >= 0 && audience.length - splitOff.size !== n;
    const candidates = audience
      .filter((m) => seen[m] !== i && !splitOff.has(m))
      .map((m) => ({ m, reason: reasonFor(i, m, race) }))
      .sort((a, b) => REASON_RANK[a.reason] - REASON_RANK[b.reason]);
    for (const { m, reason } of candidates) {
      if (missing === 0) break;
      missing--;
      miss({ sender, recipient: m, channel, t, reason });
    }
    // Recipients the sender counted that were no members at the send's instant: named when
    // they joined while the send was on its way (the sender counts when the server acknowledges).
    const reason = t + timeoutMs > stopT ? 'cancelled' : 'membership-race';
    if (missing > 0 && ch >= 0) {
      const hosts = presenters[ch];
      const toPresentersOnly = hosts !== undefined && !hosts.has(sender);
      const skip = (m: number) => m === sender || seen[m] === i || members[ch]!.has(m) || (toPresentersOnly && !hosts.has(m));
      for (const m of lateJoiners(ch, t, sendAckT[i]!, skip)) {
        if (missing === 0) break;
        missing--;
        miss({ sender, recipient: m, channel, t, reason });
      }
    }
    for (; missing > 0; missing--) miss({ sender, recipient: null, channel, t, reason });
    if (pending.length >= 10_000) await flush();
  }
  await flush();
  if (out) {
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });
  }
  const lost = Object.values(lostByReason).reduce((a, b) => a + b, 0);
  const deliveries: DeliveryOutcomes = {
    source: 'events',
    expected,
    delivered,
    lost,
    lostByReason,
    lostToNetsplit,
    cancelled,
    unexpected,
    duplicates: options.duplicates,
    misrouted: options.misrouted,
    examples,
    timeoutMs,
  };
  if (splits.length === 0) return { deliveries, splits: [] };

  // The users' sessions and receipts as the heal measurement reads them (netsplit.ts).
  const recvT = r.recv.t.data, recvU = r.recv.u.data, recvFrom = r.recv.from.data;
  const isSession = (k: number) => evKind[k] === EV_LOGON || evKind[k] === EV_LOGOFF || evKind[k] === EV_DISCONNECT;
  const evidence: SplitEvidence = {
    users: r.maxUser + 1,
    stopMs: stopT,
    online(user, t) {
      for (let k = firstAfter(user, t) - 1; k >= userStart[user]!; k--) {
        const e = byUser[k]!;
        if (isSession(e)) return evKind[e] === EV_LOGON;
      }
      return false;
    },
    departure(user, t) {
      for (let k = firstAfter(user, t); k < userStart[user + 1]!; k++) {
        const e = byUser[k]!;
        if (evKind[e] === EV_LOGOFF || evKind[e] === EV_DISCONNECT) return evT[e]!;
      }
      return null;
    },
    forEachReceipt(visit) {
      for (let k = 0; k < recvCount; k++) if (recvSend[k]! >= 0) visit(recvU[k]!, recvFrom[k]!, recvT[k]!, sendT[recvSend[k]!]!);
    },
  };
  return {
    deliveries,
    splits: splits.map((w, i) => {
      const { im, channel, examples: lostExamples, refusedIms } = bySplit[i]!;
      return { onlineAtCut: splitOffOnline(w, evidence, w.cutMs), heal: measureHeal(w, evidence), lost: { im, channel, examples: lostExamples }, refusedIms };
    }),
  };
}
