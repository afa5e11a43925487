/**
 * Invariants every run and replay keeps however it ends: each attempt ends in exactly one
 * outcome, deliveries never exceed what was expected, rates are ratios within [0, 1]. A broken
 * one is a bug in imload, not in the server: `imload run` and `imload report` name it and exit 4.
 */
import type { Outcomes } from './outcomes.js';

export interface Invariant {
  readonly name: string;
  /** The invariant in words. */
  readonly statement: string;
  /** null: not judged (said why in `note`), e.g. a killed run left attempts without an outcome. */
  readonly holds: boolean | null;
  readonly figures: Readonly<Record<string, number>>;
  readonly note?: string;
}

export interface InvariantInput {
  readonly outcomes: Outcomes;
  /** False when the journal has no end record: the run was killed and in-flight attempts have no outcome. */
  readonly ended: boolean;
  /** Deliveries the senders' counters expected: the events file's matching must account for each. */
  readonly countedExpected: number;
  /** Every figure the summary calls a rate or ratio. */
  readonly rates: Readonly<Record<string, number>>;
}

const KILLED = 'not judged: the journal has no end record (the run was killed), so attempts in flight then have no outcome';

export function checkInvariants({ outcomes, ended, countedExpected, rates }: InvariantInput): Invariant[] {
  const { logons, logoffs, deliveries: d } = outcomes;
  const sumHolds = (total: number, parts: number) => (ended ? total === parts : null);
  const note = ended ? {} : { note: KILLED };
  const outOfRange = Object.entries(rates).filter(([, v]) => !(v >= 0 && v <= 1));
  return [
    {
      name: 'logon-outcomes',
      statement: 'every logon attempt ended in exactly one outcome: attempts = ok + failed + cancelled',
      holds: sumHolds(logons.attempts, logons.ok + logons.failed + logons.cancelled),
      figures: { attempts: logons.attempts, ok: logons.ok, failed: logons.failed, cancelled: logons.cancelled },
      ...note,
    },
    {
      name: 'logoff-outcomes',
      statement: 'every logoff attempt ended in exactly one outcome: attempts = ok + failed + cut off',
      holds: sumHolds(logoffs.attempts, logoffs.ok + logoffs.failed + logoffs.cutOff),
      figures: { attempts: logoffs.attempts, ok: logoffs.ok, failed: logoffs.failed, cutOff: logoffs.cutOff },
      ...note,
    },
    {
      name: 'delivered-within-expected',
      statement: 'delivered ≤ expected: receipts beyond the expected ones are counted as unexpected, duplicate or misrouted',
      holds: d.delivered <= d.expected,
      figures: { expected: d.expected, delivered: d.delivered, unexpected: d.unexpected, duplicates: d.duplicates, misrouted: d.misrouted },
    },
    {
      name: 'delivery-outcomes',
      statement: 'every expected delivery (as the counters counted them) was delivered, lost (with a reason when the events file was kept), cancelled by the run’s end or lost to an injected netsplit: expected = delivered + lost + cancelled + lostToNetsplit',
      holds: sumHolds(countedExpected, d.delivered + d.lost + d.cancelled + d.lostToNetsplit),
      figures: { expected: countedExpected, delivered: d.delivered, lost: d.lost, cancelled: d.cancelled, lostToNetsplit: d.lostToNetsplit },
      ...note,
    },
    {
      name: 'rates-are-ratios',
      statement: 'every rate is a ratio of outcomes within [0, 1]',
      holds: outOfRange.length === 0,
      figures: rates,
      ...(outOfRange.length > 0 ? { note: `out of range: ${outOfRange.map(([k, v]) => `${k} = ${v}`).join(', ')}` } : {}),
    },
  ];
}

/** The invariants that do not hold (not those left unjudged). */
export function brokenInvariants(invariants: readonly Invariant[]): Invariant[] {
  return invariants.filter((i) => i.holds === false);
}

/** One line per broken invariant, with its figures: what `imload run`/`report` print on stderr after "imload: ". */
export function formatBrokenInvariants(broken: readonly Invariant[]): string {
  const lines = broken.map((i) => `  ${i.name}: ${i.statement} (${Object.entries(i.figures).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  return `internal error: ${broken.length} invariant${broken.length === 1 ? '' : 's'} broken — a bug in imload, please report it:\n${lines.join('\n')}`;
}
