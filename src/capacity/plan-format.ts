/**
 * The plan as a text table (stdout) and as an HTML fragment the report can embed: every number
 * beside where it came from.
 */
import { escapeHtml as h } from '../text/escape.js';
import { describeProvenance } from './plan-capacity.js';
import type { Plan } from './plan.js';
import type { Placement, PlacedRole, RolePlacement } from './plan-sites.js';

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
  if (plan.placement) lines.push('', ...placementText(plan.placement, plan.headroom));
  if (plan.notes.length > 0) lines.push('', 'Notes', ...plan.notes.map((note) => `  - ${note}`));
  return lines.join('\n');
}

const ROLE_LABELS: ReadonlyArray<[PlacedRole, string]> = [
  ['homeServer', 'home servers'],
  ['frontEndPool', 'pool'],
  ['chatServer', 'chat servers'],
  ['router', 'routers'],
];

function where(p: RolePlacement): string {
  return p.where === 'central' ? 'central' : p.servers > 0 ? `${n(p.servers)} at site` : 'at site';
}

function placementText(placement: Placement, headroom: number): string[] {
  const lines = ['Placement by site (limits.md § Placement guidance)'];
  const nameWidth = Math.max(7, ...placement.sites.map((s) => s.name.length));
  const col = 13;
  lines.push(`  ${'site'.padEnd(nameWidth)}  ${'users'.padStart(7)}  ${'link'.padStart(9)}  costly  ${ROLE_LABELS.map(([, label]) => label.padEnd(col)).join('  ')}`);
  for (const s of placement.sites) {
    lines.push(
      `  ${s.name.padEnd(nameWidth)}  ${n(s.users).padStart(7)}  ${n(s.linkKbps, 1).padStart(9)}  ${(s.costly ? 'yes' : 'no').padEnd(6)}  ${ROLE_LABELS.map(([role]) => where(s.placement[role]).padEnd(col)).join('  ')}`,
    );
  }
  const c = placement.central;
  lines.push(
    `  ${'central'.padEnd(nameWidth)}  ${n(placement.centralUsers).padStart(7)}  ${''.padStart(9)}  ${''.padEnd(6)}  ${[c.homeServers, c.pools, c.chatServers, c.routers].map((v) => `${n(v)}`.padEnd(col)).join('  ')}`,
  );
  lines.push('', '  Why (the guidance sentence that drove each choice)');
  const rules = new Map<string, string>();
  for (const s of placement.sites) {
    for (const [role, label] of ROLE_LABELS) {
      const p = s.placement[role];
      rules.set(p.rule.id, `“${p.rule.text}” [${p.rule.source}]`);
      lines.push(`  ${s.name} ${label}: ${where(p)} by [${p.rule.id}]: ${p.why}`);
    }
  }
  lines.push('', '  Guidance', ...[...rules].map(([id, text]) => `  [${id}] ${text}`));
  lines.push('', `  WAN per link at peak, kbit/s (headroom ${n(headroom * 100)} %; NO = the link does not carry it)`);
  const w = 16;
  lines.push(`  ${'site'.padEnd(nameWidth)}  ${'link'.padStart(9)}  ${'all central'.padStart(w)}  ${'home servers'.padStart(w)}  ${'pool'.padStart(w)}  contacts at site`);
  const cell = (kbps: number, carries: boolean) => `${n(kbps, 1)}${carries ? '' : ' NO'}`.padStart(w);
  for (const s of placement.sites) {
    lines.push(
      `  ${s.name.padEnd(nameWidth)}  ${n(s.linkKbps, 1).padStart(9)}  ${cell(s.wan.allCentral, s.carries.allCentral)}  ${cell(s.wan.homeServers, s.carries.homeServers)}  ${cell(s.wan.pool, s.carries.pool)}  ${n(s.contactsInSite * 100, 1)} %${s.contactsInSiteGiven ? '' : ' (share of users)'}`,
    );
  }
  const a = placement.allCentral;
  const p = placement.placed;
  lines.push(`  ${'total'.padEnd(nameWidth)}  ${''.padStart(9)}  ${n(a.wanKbps.homeServers, 1).padStart(w)}  ${n(p.wanKbps.homeServers, 1).padStart(w)}  ${n(p.wanKbps.pool, 1).padStart(w)}`);
  lines.push('', '  Servers, all central → placed');
  lines.push(`    home servers  ${a.homeServers} → ${p.homeServers}`);
  lines.push(`    routers       ${a.routers} → ${p.routers} (at ${placement.routersAt})`);
  lines.push(`    chat servers  ${a.chatServers} → ${p.chatServers}`);
  lines.push(`    pools         ${a.pools} → ${p.pools}`);
  lines.push('', ...placement.notes.map((note) => `  - ${note}`));
  return lines;
}

function placementHtml(placement: Placement, headroom: number): string {
  const cellOf = (p: RolePlacement) => `<td title="${h(p.rule.id)}">${h(where(p))}</td>`;
  const rows = placement.sites
    .map(
      (s) =>
        `<tr><td>${h(s.name)}</td><td class="num">${h(n(s.users))}</td><td class="num">${h(n(s.linkKbps, 1))}</td><td>${s.costly ? 'yes' : 'no'}</td>${ROLE_LABELS.map(([role]) => cellOf(s.placement[role])).join('')}</tr>`,
    )
    .join('\n');
  const c = placement.central;
  const centralRow = `<tr><td>central</td><td class="num">${h(n(placement.centralUsers))}</td><td></td><td></td>${[c.homeServers, c.pools, c.chatServers, c.routers].map((v) => `<td>${h(n(v))}</td>`).join('')}</tr>`;
  const why = placement.sites
    .flatMap((s) => ROLE_LABELS.map(([role, label]) => `<li><strong>${h(s.name)} ${h(label)}</strong>: ${h(where(s.placement[role]))} — [${h(s.placement[role].rule.id)}] ${h(s.placement[role].why)}</li>`))
    .join('');
  const rules = new Map(placement.sites.flatMap((s) => ROLE_LABELS.map(([role]) => [s.placement[role].rule.id, s.placement[role].rule] as const)));
  const guidance = [...rules.values()].map((r) => `<li>[${h(r.id)}] “${h(r.text)}” [${h(r.source)}]</li>`).join('');
  const cell = (kbps: number, carries: boolean) => `<td class="num${carries ? '' : ' bad'}">${h(n(kbps, 1))}${carries ? '' : ' <strong>no</strong>'}</td>`;
  const wanRows = placement.sites
    .map((s) => `<tr><td>${h(s.name)}</td><td class="num">${h(n(s.linkKbps, 1))}</td>${cell(s.wan.allCentral, s.carries.allCentral)}${cell(s.wan.homeServers, s.carries.homeServers)}${cell(s.wan.pool, s.carries.pool)}<td class="num">${h(n(s.contactsInSite * 100, 1))} %</td></tr>`)
    .join('\n');
  const a = placement.allCentral;
  const p = placement.placed;
  return `<h4>Placement by site</h4>
<table class="plan-placement"><thead><tr><th>Site</th><th>Users</th><th>Link kbit/s</th><th>Costly</th>${ROLE_LABELS.map(([, label]) => `<th>${h(label)}</th>`).join('')}</tr></thead><tbody>
${rows}
${centralRow}
</tbody></table>
<ul class="placement-why">${why}</ul>
<ul class="placement-guidance">${guidance}</ul>
<table class="plan-wan"><thead><tr><th>Site</th><th>Link kbit/s</th><th>All central</th><th>Home servers placed</th><th>Pool placed</th><th>Contacts at site</th></tr></thead><tbody>
${wanRows}
<tr><td>total</td><td></td><td class="num">${h(n(a.wanKbps.homeServers, 1))}</td><td class="num">${h(n(p.wanKbps.homeServers, 1))}</td><td class="num">${h(n(p.wanKbps.pool, 1))}</td><td></td></tr>
</tbody></table>
<p>WAN figures at peak, headroom ${h(n(headroom * 100))} %. Servers, all central → placed: home servers ${a.homeServers} → ${p.homeServers}; routers ${a.routers} → ${p.routers} (at ${h(placement.routersAt)}); chat servers ${a.chatServers} → ${p.chatServers}; pools ${a.pools} → ${p.pools}.</p>
<ul class="notes">${placement.notes.map((note) => `<li>${h(note)}</li>`).join('')}</ul>`;
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
${plan.placement ? placementHtml(plan.placement, plan.headroom) : ''}
${plan.notes.length > 0 ? `<ul class="notes">${plan.notes.map((note) => `<li>${h(note)}</li>`).join('')}</ul>` : ''}
</div>`;
}
