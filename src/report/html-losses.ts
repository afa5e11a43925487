/**
 * The report page's "Outcomes and lost deliveries" section: the invariants, what became of each
 * expected delivery, and every lost one listed by reason (the first MAX_LOSS_EXAMPLES; the run
 * folder's losses.ndjson has them all).
 */
import { LOSS_REASONS, type LossReason, type MissedDelivery } from '../analysis/outcomes.js';
import { escapeHtml as h } from '../text/escape.js';
import { acrossSegmentsText, formatNumber } from './format.js';
import type { ReportModel } from './report-model.js';

/** Each reason in words: the recorded event that explains the loss. */
const REASON_TEXT: Readonly<Record<LossReason, string>> = {
  'left-channel': 'the recipient left the channel before it arrived',
  'logged-off': 'the recipient logged off before it arrived',
  'connection-lost': 'the sender’s or the recipient’s connection was lost',
  'membership-race': 'membership race: the sender’s view of the channel differed from the members recorded at the instant of sending',
  'dropped-by-server': 'dropped by the server: not received within the delivery timeout while the recipient stayed connected and a member',
};

export function lossesSection(model: ReportModel): string {
  const { invariants, outcomes } = model.summary;
  const d = outcomes.deliveries;
  const invariantRows = invariants
    .map((i) => {
      const status = i.holds === null ? 'not judged' : i.holds ? '<span class="good">holds</span>' : '<span class="bad">BROKEN (a bug in imload)</span>';
      const figures = Object.entries(i.figures).map(([k, v]) => `${h(k)} ${formatNumber(v, 4)}`).join(', ');
      return `<tr><td>${h(i.statement)}</td><td>${status}${i.note ? `<br><small>${h(i.note)}</small>` : ''}</td><td>${figures}</td></tr>`;
    })
    .join('\n');
  const segment = acrossSegmentsText(model.summary.messages);
  if (segment) {
    // A segment's counters meet the other segments' only in the merged run: nothing here is a loss.
    return `<table id="invariants"><thead><tr><th>Invariant</th><th>Status</th><th>Figures</th></tr></thead><tbody>
${invariantRows}
</tbody></table>
<p id="losses-across-segments">${h(segment.charAt(0).toUpperCase() + segment.slice(1))}.</p>`;
  }
  const summary = `<p>${formatNumber(d.expected)} deliveries expected: ${formatNumber(d.delivered)} delivered, ${formatNumber(d.lost)} lost, ${d.lostToNetsplit > 0 ? `${formatNumber(d.lostToNetsplit)} lost to the injected netsplit (see <a href="#netsplits">Netsplits</a>; not the server’s, not in the lost count), ` : ''}${formatNumber(d.cancelled)} cancelled by the run’s end (sent within the delivery timeout before it stopped: not losses); ${formatNumber(d.unexpected)} unexpected receipts (of sends that failed or were cut off, or beyond the sender’s count), ${formatNumber(d.duplicates)} duplicates, ${formatNumber(d.misrouted)} misrouted.</p>`;
  return `<table id="invariants"><thead><tr><th>Invariant</th><th>Status</th><th>Figures</th></tr></thead><tbody>
${invariantRows}
</tbody></table>
${summary}
${lossList(d.lostByReason, d.examples, d.lost)}`;
}

function lossList(byReason: Readonly<Record<LossReason, number>> | null, examples: readonly MissedDelivery[], lost: number): string {
  if (byReason === null) {
    return lost > 0
      ? `<p class="note" id="loss-reasons-unknown">Why the ${formatNumber(lost)} lost deliveries were lost is unknown: the run kept no events file (<code>--no-record</code>, or a recording from before receipts were recorded), so only the counters speak.</p>`
      : '';
  }
  if (lost === 0) return '<p id="no-losses">No expected delivery was lost.</p>';
  const reasons = LOSS_REASONS.filter((reason) => byReason[reason] > 0).map((reason) => {
    const listed = examples.filter((e) => e.reason === reason);
    const rows = listed
      .map((e) => `<tr><td>${formatNumber(e.t / 1000, 3)} s</td><td>u${e.sender}</td><td>${e.recipient === null ? '—' : `u${e.recipient}`}</td><td>${e.channel === null ? 'IM' : h(e.channel)}</td></tr>`)
      .join('\n');
    const more = byReason[reason] > listed.length ? `<p class="note">${formatNumber(byReason[reason] - listed.length)} more in <code>losses.ndjson</code>.</p>` : '';
    return `<h3 id="loss-${reason}">${formatNumber(byReason[reason])} — ${h(REASON_TEXT[reason])}</h3>
${rows ? `<table class="losses"><thead><tr><th>sent at</th><th>sender</th><th>recipient</th><th>channel</th></tr></thead><tbody>\n${rows}\n</tbody></table>` : ''}${more}`;
  });
  return `<p>Users are named by population index (u0 is the first). Every loss in <code>losses.ndjson</code>, one per line.</p>\n${reasons.join('\n')}`;
}
