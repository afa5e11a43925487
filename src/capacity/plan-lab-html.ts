/**
 * `imload plan --lab` as a page a capacity engineer reads: per link the prediction beside the
 * measurement and the verdict, then the plan's placement with the guidance sentence behind each
 * choice (the plan's own HTML fragment), then how the lab was built. Fragments only: the page's
 * shell and style are the report's (src/report/page.ts), joined by the command.
 */
import { escapeHtml as h } from '../text/escape.js';
import { planHtml } from './plan-format.js';
import { LINK_COLUMNS, PART_COLUMNS, linkBasis, linkCells, partCells, planLabConclusion, type PlanLabResult } from './plan-lab.js';

export interface PageSection {
  readonly id: string;
  readonly title: string;
  readonly html: string;
}

/** Columns holding numbers: right-aligned, as in the text table. */
const NUMERIC = new Set<string>(['lab users', 'lab link', 'predicted MB', 'measured MB', 'ratio', 'wire MB', 'clients counted MB']);

/** A table whose verdict column is a pill; `rows` are each row's site, verdict and cells under `columns`. */
function comparisonTable(id: string, columns: readonly string[], rows: readonly { site: string; verdict: 'agrees' | 'differs'; cells: readonly string[] }[]): string {
  const body = rows
    .map(({ site, verdict, cells }) => {
      const tds = cells.map((cell, i) => {
        const column = columns[i]!;
        if (column === 'verdict') return `<td class="verdict"><span class="pill ${verdict === 'agrees' ? 'met' : 'missed'}">${h(cell)}</span></td>`;
        return `<td${NUMERIC.has(column) ? ' class="num"' : ''}>${h(cell)}</td>`;
      });
      return `<tr data-site="${h(site)}" class="link-${verdict}">${tds.join('')}</tr>`;
    })
    .join('\n');
  return `<table id="${id}"><thead><tr>${columns.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead><tbody>
${body}
</tbody></table>`;
}

export function planLabSections(result: PlanLabResult): PageSection[] {
  const { design } = result;
  const linkTable = comparisonTable('plan-lab-links', LINK_COLUMNS, result.links.map((l) => ({ site: l.site, verdict: l.verdict, cells: linkCells(l, design.tolerance) })));
  const byRole = result.links.some((l) => l.parts.length > 1)
    ? `<h3>By server role</h3>
${comparisonTable('plan-lab-roles', PART_COLUMNS, result.links.flatMap((l) => l.parts.map((p) => ({ site: l.site, verdict: p.verdict, cells: partCells(l, p, design.tolerance) }))))}
<p class="note">Chat and pool: their ports' packets, counted apart on the link (the pool's over UDP, its headers taken off as such). Home servers: the rest of the link. Clients counted: what the site's own generators of that role counted, all of which crosses the link when the role's server is central.</p>`
    : '';
  const links = `<p id="plan-lab-conclusion" class="${result.ok ? 'good' : 'bad'}">${h(planLabConclusion(result))}</p>
${linkTable}
<p class="note">Measured: the link's kernel counters, both directions, less the Ethernet, IP and TCP (the pool's: UDP) headers of each packet (payload, what the prediction counts); the wire bytes are beside it. A link agrees when its whole traffic and each role's part are within the tolerance.</p>
${byRole}
<ul id="plan-lab-basis">${result.links.map((l) => `<li>${h(linkBasis(l))}</li>`).join('')}</ul>`;

  const groupRows = design.groups
    .map((g) => `<tr><td>${h(g.name)}</td><td>${g.site ? 'site namespace, behind its shaped link' : 'hub namespace'}</td><td class="num">${h(g.users.toLocaleString('en'))}</td><td>${h(g.segments.map((s) => `${s}/${design.modulus}`).join(', '))}</td><td>${g.home === 'site' ? 'at the site' : 'central'}</td></tr>`)
    .join('\n');
  const lab = `<table id="plan-lab-groups"><thead><tr><th>group</th><th>where</th><th>lab users</th><th>segments</th><th>home server</th></tr></thead><tbody>
${groupRows}
</tbody></table>
<table id="plan-lab-servers"><thead><tr><th>server</th><th>at</th><th>URL in the lab</th></tr></thead><tbody>
${result.servers.map((s) => `<tr><td>${h(s.role)}</td><td>${h(s.at)}</td><td><code>${h(s.url)}</code></td></tr>`).join('\n')}
</tbody></table>
<ul id="plan-lab-notes">${design.notes.map((n) => `<li>${h(n)}</li>`).join('')}</ul>
<p>Runs: ${result.runDirs.map((d) => `<code>${h(d)}</code>`).join(', ')}</p>`;

  return [
    { id: 'plan-lab-summary', title: 'Each link: predicted and measured', html: links },
    { id: 'plan-lab-placement', title: 'The plan: placement and the guidance behind it', html: planHtml(result.plan) },
    { id: 'plan-lab-build', title: 'What the lab built', html: lab },
  ];
}
