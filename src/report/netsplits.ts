/**
 * Netsplits as a person reads them, in the text summary and the report page alike (one wording
 * for both): who was split off, the split window, what was lost to it, the users' heal and, apart
 * from it, the servers' own relink (summary.json `faults.netsplits`, src/analysis/netsplit.ts).
 */
import type { NetsplitReport } from '../analysis/netsplit.js';
import type { Summary } from '../analysis/summary.js';
import { escapeHtml as h } from '../text/escape.js';
import { formatMs, formatNumber } from './format.js';

/** One line of a netsplit's account: `key` names it in the page (`netsplit-<n>-<key>`). */
export interface NetsplitFact {
  readonly key: 'split-off' | 'window' | 'relink' | 'heal' | 'lost' | 'refused';
  readonly label: string;
  readonly text: string;
}

const seconds = (s: number) => `${formatNumber(s, 1)} s`;
const plural = (n: number, one: string, many = `${one}s`) => `${formatNumber(n)} ${n === 1 ? one : many}`;

export function netsplitFacts(split: NetsplitReport): NetsplitFact[] {
  const facts: NetsplitFact[] = [
    {
      key: 'split-off',
      label: 'Split off',
      text: `${split.servers.join(', ')} behind link ${split.link}, with ${formatNumber(split.users)} of ${plural(split.populationUsers, 'user')} (as the target spreads them)${split.onlineAtCut === null ? '' : `, ${formatNumber(split.onlineAtCut)} of them online at the cut`}`,
    },
    {
      key: 'window',
      label: 'Split window',
      text: `cut at ${seconds(split.cutAt)}, link back ${split.linkBackAt === null ? 'never (the run ended first)' : `at ${seconds(split.linkBackAt)}`}; a delivery across the split due from ${seconds(split.window.from)} to ${split.window.to === null ? 'the run’s end' : seconds(split.window.to)} is lost to it, not to the server`,
    },
    { key: 'relink', label: 'Servers relinked', text: relinkText(split) },
    { key: 'heal', label: 'Users healed', text: healText(split) },
    {
      key: 'lost',
      label: 'Lost to the split',
      text: split.lost === null
        ? 'not told apart: that needs the events file, read once the run has ended (none is kept with --no-record); until then any loss across the split is in messages.lost'
        : `${plural(split.lost.total, 'delivery', 'deliveries')} (${formatNumber(split.lost.im)} IM, ${formatNumber(split.lost.channel)} channel) between users on different sides; counted apart, not in messages.lost`,
    },
  ];
  if (split.refusedIms !== null) {
    facts.push({ key: 'refused', label: 'IMs refused across it', text: `${plural(split.refusedIms, 'IM')} refused as “recipient offline” (the sender’s server no longer saw the recipient; no delivery was expected)` });
  }
  return facts;
}

function relinkText(split: NetsplitReport): string {
  if (split.linkBackAt === null) return 'not before the run ended';
  if (split.relinkMs === null) return 'not seen: the network was not whole again within the lab’s wait (losses after the link’s return are the server’s)';
  return `${formatMs(split.relinkMs)} after the link’s return every server saw the whole network again (the servers’ own reconnect)`;
}

function healText(split: NetsplitReport): string {
  const heal = split.heal;
  if (split.linkBackAt === null) return 'not measured: the link never came back';
  if (heal === null) return 'not measured: it is measured from the events file once the run has ended (none is kept with --no-record)';
  if (heal.users === 0) return 'no split-off user was online at the link’s return';
  const spread = heal.heard > 0 ? `; per user p50 ${formatMs(heal.p50Ms!)}, p90 ${formatMs(heal.p90Ms!)}, max ${formatMs(heal.maxMs!)}, first ${formatMs(heal.firstMs!)}` : '';
  const whole = heal.allHeardMs !== null
    ? `every split-off user heard the other side again ${formatMs(heal.allHeardMs)} after the link’s return`
    : `${formatNumber(heal.notHeard)} never heard from the other side before the run ended`;
  const left = heal.leftFirst > 0 ? `, ${formatNumber(heal.leftFirst)} left before hearing` : '';
  return `${whole} (${formatNumber(heal.heard)} of ${formatNumber(heal.users)} online at the link’s return heard${left}${spread}); a user’s heal includes the wait for its next message from the other side`;
}

/** The text summary's lines: one heading line per netsplit, its facts indented under it. */
export function netsplitLines(summary: Summary): string[] {
  return summary.faults.netsplits.flatMap((split) => [
    `netsplit   ${split.target}`,
    ...netsplitFacts(split).map((f) => `           ${f.label.toLowerCase()}: ${f.text}`),
  ]);
}

/** The report page's "Netsplits" section; empty when the run had none. */
export function netsplitSection(summary: Summary): string {
  return summary.faults.netsplits
    .map((split, i) => {
      const id = `netsplit-${i + 1}`;
      const facts = netsplitFacts(split).map((f) => `<dt>${h(f.label)}</dt><dd id="${id}-${f.key}">${h(f.text)}</dd>`).join('\n');
      const examples = split.lost?.examples ?? [];
      const rows = examples.map((e) => `<tr><td>${formatNumber(e.t / 1000, 3)} s</td><td>u${e.sender}</td><td>${e.recipient === null ? '—' : `u${e.recipient}`}</td><td>${e.channel === null ? 'IM' : h(e.channel)}</td></tr>`).join('\n');
      const more = split.lost && split.lost.total > examples.length ? `<p class="note">${formatNumber(split.lost.total - examples.length)} more in <code>losses.ndjson</code> (reason <code>netsplit</code>).</p>` : '';
      const table = rows ? `<table class="losses" id="${id}-examples"><thead><tr><th>sent at</th><th>sender</th><th>recipient</th><th>channel</th></tr></thead><tbody>\n${rows}\n</tbody></table>${more}` : '';
      return `<h3 id="${id}">${h(split.target)}</h3>\n<dl class="facts">\n${facts}\n</dl>\n${table}`;
    })
    .join('\n');
}
