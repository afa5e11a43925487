/**
 * The plan as a text table (stdout) and as an HTML fragment the report can embed: every number
 * beside where it came from.
 */
import { escapeHtml as h } from '../text/escape.js';
import { describeProvenance } from './plan-capacity.js';
import type { Plan } from './plan.js';

const n = (value: number, digits = 2) => (Number.isFinite(value) ? value.toLocaleString('en', { maximumFractionDigits: digits }) : 'any number');

function bandwidthSource(plan: Plan): string {
  return describeProvenance(plan.kbpsPerUser.from);
}

export function formatPlanText(plan: Plan): string {
  const lines = [
    `Plan for ${n(plan.users)} users, ${n(plan.peakOnlineFraction * 100)} % online at peak = ${n(plan.peakOnline)} online`,
    '',
    'Servers',
  ];
  const roleWidth = Math.max(...plan.servers.map((s) => s.role.length));
  for (const s of plan.servers) {
    lines.push(`  ${s.role.padEnd(roleWidth)}  ${String(s.servers).padStart(6)}  (${n(s.perServer)} per server)`);
    lines.push(`  ${''.padEnd(roleWidth)}          from ${describeProvenance(s.from)}`);
    if (s.rule) lines.push(`  ${''.padEnd(roleWidth)}          rule ${describeProvenance(s.rule)}`);
  }
  lines.push('', `WAN bandwidth at ${n(plan.kbpsPerUser.value, 3)} kbit/s per online user, headroom ${n(plan.headroom * 100)} %`);
  lines.push(`  from ${bandwidthSource(plan)}`);
  lines.push(`  all users at peak: ${n(plan.totalKbps / 1000)} Mbit/s`);
  for (const m of plan.modelledBandwidth) lines.push(`  for comparison, modelled: ${n(m.kbpsPerUser, 3)} kbit/s per user (${m.basis})`);
  if (plan.sites.length > 0) {
    const nameWidth = Math.max(4, ...plan.sites.map((s) => s.name.length));
    lines.push(`  ${'site'.padEnd(nameWidth)}  ${'users'.padStart(7)}  ${'online'.padStart(7)}  ${'kbit/s'.padStart(9)}  ${'+headroom'.padStart(9)}  ${'link'.padStart(9)}  ${'use'.padStart(6)}  carries  most users`);
    for (const s of plan.sites) {
      lines.push(
        `  ${s.name.padEnd(nameWidth)}  ${n(s.users).padStart(7)}  ${n(s.peakOnline).padStart(7)}  ${n(s.kbps, 1).padStart(9)}  ${n(s.kbpsWithHeadroom, 1).padStart(9)}  ${n(s.linkKbps, 1).padStart(9)}  ${`${n(s.linkUse * 100, 0)} %`.padStart(6)}  ${(s.carries ? 'yes' : 'NO').padEnd(7)}  ${n(s.maxUsers, 0)}`,
      );
    }
  }
  if (plan.notes.length > 0) lines.push('', 'Notes', ...plan.notes.map((note) => `  - ${note}`));
  return lines.join('\n');
}

/** An HTML fragment (no <section> wrapper, no script): the report can place it where it likes. */
export function planHtml(plan: Plan): string {
  const serverRows = plan.servers
    .map(
      (s) =>
        `<tr><td>${h(s.role)}</td><td class="num">${h(n(s.servers))}</td><td class="num">${h(n(s.perServer))}</td><td>${h(describeProvenance(s.from))}${s.rule ? `<br><em>${h(describeProvenance(s.rule))}</em>` : ''}</td></tr>`,
    )
    .join('\n');
  const siteRows = plan.sites
    .map(
      (s) =>
        `<tr class="${s.carries ? '' : 'bad'}"><td>${h(s.name)}</td><td class="num">${h(n(s.users))}</td><td class="num">${h(n(s.peakOnline))}</td><td class="num">${h(n(s.kbps, 1))}</td><td class="num">${h(n(s.kbpsWithHeadroom, 1))}</td><td class="num">${h(n(s.linkKbps, 1))}</td><td class="num">${h(n(s.linkUse * 100, 0))} %</td><td>${s.carries ? 'yes' : '<strong>no</strong>'}</td><td class="num">${h(n(s.maxUsers, 0))}</td></tr>`,
    )
    .join('\n');
  return `<div class="plan">
<p>${h(n(plan.users))} users, ${h(n(plan.peakOnlineFraction * 100))} % online at peak: <strong>${h(n(plan.peakOnline))}</strong> online.</p>
<table class="plan-servers"><thead><tr><th>Role</th><th>Servers</th><th>Users per server</th><th>From</th></tr></thead><tbody>
${serverRows}
</tbody></table>
<p>WAN load: ${h(n(plan.kbpsPerUser.value, 3))} kbit/s per online user (${h(bandwidthSource(plan))}); all users at peak ${h(n(plan.totalKbps / 1000))} Mbit/s; headroom ${h(n(plan.headroom * 100))} %.</p>
<p class="note">For comparison, modelled: ${plan.modelledBandwidth.map((m) => `${h(n(m.kbpsPerUser, 3))} kbit/s per user (${h(m.basis)})`).join('; ')}.</p>
${plan.sites.length > 0 ? `<table class="plan-sites"><thead><tr><th>Site</th><th>Users</th><th>Online at peak</th><th>kbit/s</th><th>With headroom</th><th>Link kbit/s</th><th>Link use</th><th>Carries</th><th>Most users the link carries</th></tr></thead><tbody>
${siteRows}
</tbody></table>` : ''}
${plan.notes.length > 0 ? `<ul class="notes">${plan.notes.map((note) => `<li>${h(note)}</li>`).join('')}</ul>` : ''}
</div>`;
}
