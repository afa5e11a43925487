/**
 * The report page's "Faults" section: each kill the lab made, the users whose transactions failed,
 * were retried elsewhere or were accepted late (a sample; the counts hold them all), the outage and
 * the recovery.
 */
import type { FaultTransactions } from '../analysis/fault-impact.js';
import { escapeHtml as h } from '../text/escape.js';
import { delayedText, kinds, outageHeadline, recoveryText, transactionsText } from './fault-text.js';
import { formatNumber } from './format.js';
import type { ReportModel } from './report-model.js';

export function faultsSection(model: ReportModel): string {
  const { events, outages } = model.summary.faults;
  if (events.length === 0) return '<p id="no-faults">The run injected no fault.</p>';
  const actions = events
    .map((e) => `<tr><td>${formatNumber(e.t, 1)} s</td><td>${h(e.action)}</td><td>${h(e.target)}</td><td>${e.ok ? 'done' : '<span class="bad">failed</span>'}${e.detail ? `: ${h(e.detail)}` : ''}</td></tr>`)
    .join('\n');
  const perOutage = outages.map((o, i) => {
    const impact = o.transactions;
    const rows = impact
      ? `<table class="fault-impact" id="outage-${i}-impact"><tbody>
<tr><th>Failed</th><td data-field="failed">${h(transactionsText(impact.failed, o.downAt))}</td></tr>
<tr><th>Retried elsewhere</th><td data-field="retried">${h(transactionsText(impact.retried, o.downAt))}</td></tr>
<tr><th>Delayed</th><td data-field="delayed">${h(delayedText(impact.delayed, o.downAt))}</td></tr>
<tr><th>Recovery</th><td data-field="recovery">${h(recoveryText(o) ?? '')}</td></tr>
</tbody></table>
${userList(`outage-${i}-failed`, 'Users whose transactions failed', 'transactions', impact.failed)}
${userList(`outage-${i}-retried`, 'Users whose transactions were retried elsewhere', 'transactions', impact.retried)}
${userList(`outage-${i}-delayed`, 'Users whose sends were accepted late', 'sends', impact.delayed)}`
      : '<p class="note">Which users were touched is unknown: the run kept no events file.</p>';
    return `<h3 id="outage-${i}">${h(outageHeadline(o))}</h3>\n${rows}`;
  });
  return `<table id="fault-events"><thead><tr><th>at</th><th>action</th><th>target</th><th>outcome</th></tr></thead><tbody>
${actions}
</tbody></table>
${perOutage.join('\n')}`;
}

/** `counted`: what the count column counts (a delayed send is not a failed transaction). */
function userList(id: string, title: string, counted: string, t: FaultTransactions): string {
  if (t.users === 0) return '';
  const rows = t.sample.map((u) => `<tr><td>${h(u.user)}</td><td>${formatNumber(u.firstAt, 1)} s</td><td>${formatNumber(u.transactions)}</td><td>${h(kinds(u.kinds))}</td></tr>`).join('\n');
  const more = t.users > t.sample.length ? `<p class="note">${formatNumber(t.users - t.sample.length)} more (the counts above hold them all).</p>` : '';
  return `<h4>${h(title)}</h4>
<table class="fault-users" id="${id}"><thead><tr><th>user</th><th>first at</th><th>${counted}</th><th>kinds</th></tr></thead><tbody>
${rows}
</tbody></table>${more}`;
}
