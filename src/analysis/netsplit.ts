/**
 * Netsplits (docs/topologies.md § Netsplit fault): the split windows the journal records, which
 * missed deliveries a split explains, and each split-off user's heal time measured from what the
 * users themselves received — no server count or relay of ours is asked for, only the ordinary
 * deliveries imload already matches (src/analysis/deliveries.ts).
 */
import type { JournalFault, JournalSplit } from '../metrics/journal.js';
import { serverIndexOf } from '../protocols/network.js';
import type { MissedDelivery } from './outcomes.js';

/** One netsplit as the journal records it, with the window in which it explains losses. */
export interface SplitWindow {
  /** The fault's target, `<target>/<link>`. */
  readonly target: string;
  readonly split: JournalSplit;
  /** Ms since the run's start: the cut, and the link's return (null: the run ended first). */
  readonly cutMs: number;
  readonly backMs: number | null;
  /** The servers' own reconnect: ms from the link's return until every server saw the whole network (null: not seen). */
  readonly relinkMs: number | null;
  /**
   * Until when the split explains a loss (ms since start): the servers relinked; or, when they
   * never did, the link's return (the fault itself ends there: failing to relink is the servers');
   * Infinity when the run ended with the link still cut.
   */
  readonly endMs: number;
  /** Whether a user (population index) is on a server the cut link split off. */
  splitOff(user: number): boolean;
}

/** The netsplits of a run from its fault records; a cut without the network's shape (`split`) cannot be placed and is left out. */
export function splitWindows(faults: readonly JournalFault[]): SplitWindow[] {
  return faults
    .filter((f): f is JournalFault & { split: JournalSplit } => f.action === 'netsplit' && f.ok && f.split !== undefined)
    .map((cut) => {
      const heal = faults.find((f) => f.action === 'heal' && f.target === cut.target && f.t >= cut.t);
      const cutMs = cut.t * 1000;
      const backMs = heal ? heal.t * 1000 : null;
      const relinkMs = heal?.ok && heal.relinkMs !== undefined ? heal.relinkMs : null;
      const endMs = backMs === null ? Infinity : backMs + (relinkMs ?? 0);
      const servers = new Set(cut.split.servers);
      const shape = cut.split.network;
      return { target: cut.target, split: cut.split, cutMs, backMs, relinkMs, endMs, splitOff: (user: number) => servers.has(serverIndexOf(user, shape)) };
    });
}

/**
 * The split (index into `windows`) that explains a delivery from `sender` to `recipient` sent at
 * `t` (ms) going missing: the two were on different sides, and the delivery was due while the link
 * was cut — sent before the servers relinked, its timeout not yet over at the cut. -1: none does.
 */
export function splitAcross(windows: readonly SplitWindow[], sender: number, recipient: number, t: number, timeoutMs: number): number {
  return windows.findIndex((w) => t <= w.endMs && t + timeoutMs >= w.cutMs && w.splitOff(sender) !== w.splitOff(recipient));
}

/** What the analysis of the events file can tell about a split's users (deliveries.ts provides it). */
export interface SplitEvidence {
  /** Users 0..users-1 appear in the recording. */
  readonly users: number;
  /** When the run began stopping (ms since start). */
  readonly stopMs: number;
  /** Whether `user` was online at `t` by its own records (logged on, not since logged off or disconnected). */
  online(user: number, t: number): boolean;
  /** The user's first logoff or lost connection after `t`, or null. */
  departure(user: number, t: number): number | null;
  /** Every receipt of a recorded send: recipient, sender, when it arrived and when it was sent (ms). */
  forEachReceipt(visit: (recipient: number, sender: number, t: number, sentAt: number) => void): void;
}

/** Each split-off user's heal: from the link's return to its first receipt from the other side. */
export interface HealFigures {
  /** Split-off users online at the link's return (the ones whose heal is measured). */
  readonly users: number;
  /** Of them: heard from the other side again; logged off or lost their connection first; still waiting when the run began stopping. */
  readonly heard: number;
  readonly leftFirst: number;
  readonly notHeard: number;
  /** Per-user heal time (ms from the link's return), over the users who heard; null when none did. */
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly maxMs: number | null;
  /** The first split-off user to hear again (ms after the link's return). */
  readonly firstMs: number | null;
  /** When every split-off user still online had heard (ms after the link's return); null while one never did. */
  readonly allHeardMs: number | null;
}

/**
 * The per-user heal of a split. A receipt counts when it arrived after the link's return, from a
 * sender on the other side, of a message sent after the cut (so it crossed the healed link, not a
 * straggler from before). A user's heal time includes the wait for the next message addressed to
 * it: below it lies the servers' relink, above it the workload's message rate.
 */
export function measureHeal(window: SplitWindow, evidence: SplitEvidence): HealFigures | null {
  const back = window.backMs;
  if (back === null) return null;
  const firstHeard = new Map<number, number>();
  evidence.forEachReceipt((recipient, sender, t, sentAt) => {
    if (t < back || sentAt < window.cutMs || !window.splitOff(recipient) || window.splitOff(sender)) return;
    const known = firstHeard.get(recipient);
    if (known === undefined || t < known) firstHeard.set(recipient, t);
  });
  const heals: number[] = [];
  let users = 0, leftFirst = 0, notHeard = 0;
  for (let user = 0; user < evidence.users; user++) {
    if (!window.splitOff(user) || !evidence.online(user, back)) continue;
    users++;
    const heard = firstHeard.get(user);
    const departed = evidence.departure(user, back);
    if (heard !== undefined && (departed === null || heard <= departed)) heals.push(Math.max(0, heard - back));
    else if (departed !== null && departed < evidence.stopMs) leftFirst++;
    else notHeard++;
  }
  heals.sort((a, b) => a - b);
  const rank = (p: number) => (heals.length === 0 ? null : heals[Math.min(heals.length - 1, Math.ceil(p * heals.length) - 1)]!);
  return {
    users,
    heard: heals.length,
    leftFirst,
    notHeard,
    p50Ms: rank(0.5),
    p90Ms: rank(0.9),
    maxMs: heals.at(-1) ?? null,
    firstMs: heals[0] ?? null,
    allHeardMs: notHeard === 0 && heals.length > 0 ? heals.at(-1)! : null,
  };
}

/** Split-off users online at `t` (ms) by their own records. */
export function splitOffOnline(window: SplitWindow, evidence: SplitEvidence, t: number): number {
  let online = 0;
  for (let user = 0; user < evidence.users; user++) if (window.splitOff(user) && evidence.online(user, t)) online++;
  return online;
}

/** What the events file tells of one split: who was online at the cut, its heal, the deliveries it explains, the IMs refused across it. */
export interface SplitMeasured {
  readonly onlineAtCut: number;
  readonly heal: HealFigures | null;
  readonly lost: { readonly im: number; readonly channel: number; readonly examples: readonly MissedDelivery[] };
  /** IMs the sender's server refused as "recipient offline" because the recipient was on the other side, sent while the split was in force. */
  readonly refusedIms: number;
}

/** Examples of deliveries lost to one split kept in summary.json (losses.ndjson has them all). */
export const MAX_SPLIT_EXAMPLES = 20;

/** A netsplit in summary.json (`faults.netsplits`, docs/summary-schema.md). */
export interface NetsplitReport {
  readonly target: string;
  readonly link: string;
  /** The servers split off (the cut link's child and every server below it). */
  readonly servers: readonly string[];
  /** Users of the population placed on them, and in the whole population. */
  readonly users: number;
  readonly populationUsers: number;
  /** Of the split-off servers' users, those online at the cut (from the events file; null without it). */
  readonly onlineAtCut: number | null;
  /** Seconds since the start: the cut, and the link's return (null: the run ended first). */
  readonly cutAt: number;
  readonly linkBackAt: number | null;
  /** The servers' own reconnect, apart from the users' heal: ms from the link's return until every server saw the whole network again. */
  readonly relinkMs: number | null;
  /** The window losses across the split are attributed to (seconds since start; `to` null: the link never came back). */
  readonly window: { readonly from: number; readonly to: number | null };
  /** From the events file; null without one. */
  readonly heal: HealFigures | null;
  readonly lost: { readonly total: number; readonly im: number; readonly channel: number; readonly examples: readonly MissedDelivery[] } | null;
  readonly refusedIms: number | null;
}

export function netsplitReports(windows: readonly SplitWindow[], measured?: readonly SplitMeasured[]): NetsplitReport[] {
  return windows.map((w, i) => {
    const m = measured?.[i];
    return {
      target: w.target,
      link: w.split.link,
      servers: w.split.serverNames,
      users: w.split.users,
      populationUsers: w.split.network.users,
      onlineAtCut: m ? m.onlineAtCut : null,
      cutAt: seconds(w.cutMs),
      linkBackAt: w.backMs === null ? null : seconds(w.backMs),
      relinkMs: w.relinkMs,
      window: { from: seconds(w.cutMs), to: Number.isFinite(w.endMs) ? seconds(w.endMs) : null },
      heal: m?.heal ?? null,
      lost: m ? { total: m.lost.im + m.lost.channel, ...m.lost } : null,
      refusedIms: m ? m.refusedIms : null,
    };
  });
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}
