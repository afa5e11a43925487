/**
 * A killed server's outage in words, for the text report and the report page alike: who failed
 * (and how), who was retried elsewhere, whose sends were accepted late, when the failures began
 * and ended, and the recovery
 * (src/analysis/fault-impact.ts has how each is read from the events file).
 */
import type { FaultDelays, FaultTransactions, FaultUser, UserSample } from '../analysis/fault-impact.js';
import type { FaultReport } from '../analysis/summary.js';
import { formatNumber } from './format.js';

type Outage = FaultReport['outages'][number];

const seconds = (t: number): string => `${formatNumber(t, 1)} s`;
const plural = (n: number, word: string): string => `${formatNumber(n)} ${word}${n === 1 ? '' : 's'}`;
/** "send-timeout ×10, offline ×2", most first. */
export const kinds = (byKind: Readonly<Record<string, number>>): string =>
  Object.entries(byKind)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([kind, n]) => `${kind} ×${formatNumber(n)}`)
    .join(', ');

/** The kill, the restart and the online count around them. */
export function outageHeadline(o: Outage): string {
  const when = `${o.target} killed at ${seconds(o.downAt)}${o.upAt !== null ? `, restarted at ${seconds(o.upAt)}` : ' (not restarted)'}`;
  // A pool's users stay logged on through the other servers: there is no online dip to recover from.
  if (o.lowestOnline >= o.onlineBefore) return `${when}: online stayed ${formatNumber(o.onlineBefore)} throughout`;
  return `${when}: online ${formatNumber(o.onlineBefore)} → ${formatNumber(o.lowestOnline)}, back ${formatNumber(o.usersBack)}${o.recoverySeconds !== null ? `, as many online as before ${seconds(o.recoverySeconds)} after the restart` : ', never as many online as before'}`;
}

/** "12 transactions of 5 users (send-timeout ×10, offline ×2), from 10.3 s to 14.1 s (0.2–4.0 s after the kill)". */
export function transactionsText(t: FaultTransactions, downAt: number): string {
  if (t.transactions === 0 || t.firstAt === null || t.lastAt === null) return 'none';
  const after = `${formatNumber(t.firstAt - downAt, 1)}–${formatNumber(t.lastAt - downAt, 1)} s after the kill`;
  return `${plural(t.transactions, 'transaction')} of ${plural(t.users, 'user')} (${kinds(t.byKind)}), from ${seconds(t.firstAt)} to ${seconds(t.lastAt)} (${after})`;
}

/**
 * "2,617 sends of 280 users (message ×2,617) accepted more than 1 s after they began, begun while it was down from
 * 40.1 s to 61.2 s (0.1–21.2 s after the kill); the longest waited 23.6 s".
 */
export function delayedText(t: FaultDelays, downAt: number): string {
  if (t.transactions === 0 || t.firstAt === null || t.lastAt === null) return 'none';
  const after = `${formatNumber(t.firstAt - downAt, 1)}–${formatNumber(t.lastAt - downAt, 1)} s after the kill`;
  const longest = t.longestSeconds === null ? '' : `; the longest waited ${seconds(t.longestSeconds)}`;
  return `${plural(t.transactions, 'send')} of ${plural(t.users, 'user')} (${kinds(t.byKind)}) accepted more than ${formatNumber(t.overSeconds)} s after they began, begun while it was down from ${seconds(t.firstAt)} to ${seconds(t.lastAt)} (${after})${longest}`;
}

/** Recovery: when every touched user's transactions succeeded again, or who never did. */
export function recoveryText(o: Outage): string | undefined {
  const impact = o.transactions;
  if (!impact) return undefined;
  if (impact.failed.users === 0 && impact.retried.users === 0) {
    // Not "no impact": sends that waited out the outage were accepted, late.
    return impact.delayed.transactions > 0
      ? `no user’s transaction failed or was retried, but ${plural(impact.delayed.transactions, 'send')} waited for the server (delayed, above)`
      : 'no user’s transaction failed, was retried or was delayed';
  }
  const unseen = impact.noLaterTransaction.users > 0
    ? `; ${plural(impact.noLaterTransaction.users, 'touched user')} began no transaction afterwards, so showed no recovery (${named(impact.noLaterTransaction)})`
    : '';
  // When the deployment stopped failing or retrying, then each touched user's own next success
  // (which waits for that user's next send, however far its schedule puts it).
  const lastIssue = Math.max(impact.failed.lastAt ?? -Infinity, impact.retried.lastAt ?? -Infinity);
  const ended = `the last failure or retry at ${seconds(lastIssue)} (${formatNumber(lastIssue - o.downAt, 1)} s after the kill); `;
  if (impact.recoveredAt !== null) {
    return `${ended}every touched user that tried again had a transaction succeed, the last at ${seconds(impact.recoveredAt)} (${formatNumber(impact.recoveredAt - o.downAt, 1)} s after the kill, at its own next send)${unseen}`;
  }
  if (impact.notRecovered.users === 0) return `${ended}recovery not seen${unseen}`;
  return `${ended}not recovered: ${plural(impact.notRecovered.users, 'touched user')} tried again and had no transaction succeed after their last failure or retry (${named(impact.notRecovered)})${unseen}`;
}

const named = ({ users, sample }: UserSample): string => `${sample.join(', ')}${users > sample.length ? `, and ${formatNumber(users - sample.length)} more` : ''}`;

/** One sampled user: "u000004 (send-timeout ×2 from 10.3 s)". */
export function faultUserText(u: FaultUser): string {
  return `${u.user} (${kinds(u.kinds)} from ${seconds(u.firstAt)})`;
}

/** The sampled users in a line, with how many more the counts hold. */
export function sampleText(t: FaultTransactions): string {
  const more = t.users - t.sample.length;
  return `${t.sample.map(faultUserText).join(', ')}${more > 0 ? `, and ${formatNumber(more)} more` : ''}`;
}
