/** The report page's sections as HTML fragments (tables and text); html.ts puts them in a page. */
import type { LatencySummary } from '../metrics/histogram.js';
import { escapeHtml as h } from '../text/escape.js';
import { acrossSegmentsText, countedProtocolMetrics, formatMetricValue, formatMs, formatNumber, labServerDropsText, shownLatencies, verdictLabel } from './format.js';
import type { ReportModel } from './report-model.js';
import type { ThresholdResult } from '../analysis/thresholds.js';
import { sizeDeployment, type SizingAnswer } from './sizing.js';
import { describeRssPerVu, describeSilentWorkers } from '../analysis/generator.js';
import { presenceMethodText } from '../analysis/summary.js';
import { describeEachInstance } from './each-instance.js';

export function overviewSection(model: ReportModel): string {
  const s = model.summary;
  const banner = model.cutShort ? `<p class="banner warn" id="cut-short" role="alert">${h(model.cutShort)}</p>` : '';
  const failed = s.thresholds.filter((t) => !t.ok).length;
  const left = s.thresholds.filter((t) => t.notJudged !== undefined).length;
  const judged = s.thresholds.length - left;
  const status = (failed > 0 ? `<span class="bad">${failed} of ${judged} thresholds failed</span>`
    : judged === 0 && left > 0 ? 'no threshold judged here'
    : `<span class="good">${judged === 1 ? 'the threshold' : `all ${judged} thresholds`} passed</span>`)
    + (left > 0 ? ` (<span id="thresholds-left">${left} left to imload merge: this is one segment</span>)` : '');
  const bottleneck = s.generator.bottleneck ? `<p class="banner warn">The load generator was the bottleneck: ${h(s.generator.reasons.join('; '))}. Figures above that load speak for imload, not the server.</p>` : '';
  const serverDrops = labServerDropsText(s);
  const lost = s.generator.lostOnHost?.length
    ? `<p class="banner warn" id="lost-on-host">imload's host lost what the server sent: ${h(s.generator.lostOnHost.join('; '))}. A figure met stands; a failure after it may be imload's, so none is booked as missed.</p>`
    : '';
  return `${banner}${bottleneck}${lost}
<dl class="facts">
  <dt>Scenario</dt><dd>${h(s.scenario.name)} — ${h(s.scenario.description)}</dd>
  <dt>Target</dt><dd>${h(s.target.name)} (${h(s.target.protocol)}) at <code>${h(s.target.url)}</code>, server ${h(model.serverVersion)}${serverDrops ? `; <span id="server-drops">${h(serverDrops)}</span>` : ''}</dd>
  <dt>Started</dt><dd>${h(s.startedAt)} · ran ${formatNumber(s.durationSeconds, 1)} s · ended: ${h(s.end.reason)}${s.end.detail ? ` (${h(s.end.detail)})` : ''}</dd>
  <dt>Load</dt><dd>${formatNumber(s.users.peakOnline)} of ${formatNumber(s.users.requested)} users online at peak · timeScale ${s.timeScale} · seed ${s.seed}</dd>
  <dt>Outcome</dt><dd>${status}</dd>
  <dt>Logon</dt><dd id="headline-logon">${latencyHeadline('p95', s.latency.logon)}</dd>
  <dt>Delivery</dt><dd id="headline-delivery">${latencyHeadline('p99', s.latency.delivery)}</dd>
  <dt>Bandwidth per user</dt><dd id="headline-bandwidth">${bandwidthHeadline(model)}</dd>
</dl>`;
}

function latencyHeadline(percentile: 'p95' | 'p99', l: LatencySummary): string {
  return l.count === 0 ? 'no samples' : `${percentile} ${formatMs(l[percentile])} (${formatNumber(l.count)} samples)`;
}

/** The real-time figure first (the one documented figures compare with); wall-clock only labelled. */
function bandwidthHeadline(model: ReportModel): string {
  const s = model.summary;
  const rt = model.realTimeBandwidth;
  const wallClock = `${formatNumber(s.bandwidth.kbpsPerUser, 4)} kbit/s wall-clock`;
  if (!rt) return s.timeScale === 1 ? 'nobody was online' : `${h(wallClock)} at timeScale ${s.timeScale} (not real time; nothing to normalise)`;
  const alsoWallClock = s.timeScale !== 1 ? ` · ${h(wallClock)} at timeScale ${s.timeScale}, not comparable with documented figures` : '';
  return `<strong>${formatNumber(rt.kbpsPerUser, 4)} kbit/s</strong> ${h(rt.basis)}, ${s.bandwidth.window === 'hold' ? 'hold phase' : 'whole run'}${alsoWallClock}`;
}

/** The verdict's measured bandwidth is real time exactly when the run could normalise it (as in verdicts.ts). */
function verdictBandwidthBasis(model: ReportModel): string {
  const s = model.summary;
  return model.realTimeBandwidth ? model.realTimeBandwidth.basis : `wall-clock at timeScale ${s.timeScale}, not real time`;
}

/**
 * Integers in generated prose ("fewer than 20000") grouped like every other figure on the page
 * ("20,000"). Product names and years keep their digits ("Exchange 2000", "LCS 2005").
 */
export function groupDigitsInText(text: string): string {
  return text.replace(/(?<![\w.,])(\d{4,})(?![\w]|[.,]\d)/g, (digits, _m: string, offset: number) =>
    /\b[A-Z][\w-]* $/.test(text.slice(0, offset)) ? digits : formatNumber(Number(digits)));
}

export function verdictSection(model: ReportModel): string {
  const limits = model.summary.limits;
  if (!limits) return '<p>The scenario names no limit profile, so there are no verdicts against documented figures.</p>';
  const rows = limits.verdicts.map((v) => `<tr class="verdict-${v.verdict}">
  <td><strong>${h(v.id)}</strong><br><q>${h(v.wording)}</q><br><small>${h(v.source)}</small></td>
  <td>${v.kind === 'atLeast' ? '≥' : '≤'} ${formatNumber(v.value)} ${h(v.unit)}</td>
  <td>${v.measured === null ? 'not measured' : h(formatMetricValue(v.metric, v.measured))}${v.metric === 'bandwidth.kbpsPerUser' ? ` <small>(${h(verdictBandwidthBasis(model))})</small>` : ''}</td>
  <td class="verdict"><span class="pill ${v.verdict}">${h(verdictLabel(v))}</span></td>
  <td>${h(groupDigitsInText(v.reason))}</td>
</tr>`);
  return `<p>Profile <strong>${h(limits.title)}</strong> [${h(limits.profile)} v${h(limits.version)}]. A limit the run did not reach is never called met.</p>
<table id="verdicts"><thead><tr><th>Documented limit</th><th>Figure</th><th>Measured</th><th>Verdict</th><th>Why</th></tr></thead>
<tbody>${rows.join('')}</tbody></table>${onsetList(model)}`;
}

/** Where each failed latency SLO first broke, second by second. */
function onsetList(model: ReportModel): string {
  if (model.sloOnsets.length === 0) return '';
  const items = model.sloOnsets.map((o) => `<li><code>${h(o.threshold)}</code> first broke at ${formatNumber(o.t)} s into the run (that second: ${h(formatMs(o.value))}) with ${formatNumber(o.online)} users online${o.planned === null ? '' : ` of ${formatNumber(o.planned)} planned`}.</li>`);
  return `<p>Second by second, the failed latency SLOs first broke here:</p><ul id="slo-onsets">${items.join('')}</ul>`;
}

export function thresholdSection(model: ReportModel): string {
  const list = model.summary.thresholds;
  if (list.length === 0) return '<p>The scenario sets no thresholds.</p>';
  const onset = (name: string) => {
    const o = model.sloOnsets.find((x) => x.threshold === name);
    return o ? `first broke at ${formatNumber(o.t)} s, ${formatNumber(o.online)} users online` : '';
  };
  const result = (t: ThresholdResult) => t.notJudged !== undefined ? '<span class="pill na">not judged here</span>' : `<span class="pill ${t.ok ? 'met' : 'missed'}">${t.ok ? 'passed' : 'failed'}</span>`;
  const rows = list.map((t) => `<tr><td><code>${h(t.name)}</code></td><td>${t.notJudged !== undefined ? '–' : h(formatMetricValue(t.metric, t.actual))}</td><td>${result(t)}</td><td>${h([t.notJudged ?? '', onset(t.name), t.abortOnFail ? 'aborts the run' : ''].filter(Boolean).join('; '))}</td></tr>`);
  return `<table id="thresholds"><thead><tr><th>SLO / threshold</th><th>Measured (whole run)</th><th>Result</th><th>Notes</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function latencyRow(name: string, description: string, l: LatencySummary): string {
  const label = `<td title="${h(description)}">${h(name)}</td>`;
  if (l.count === 0) return `<tr>${label}<td colspan="6">no samples</td></tr>`;
  return `<tr>${label}${[l.p50, l.p95, l.p99, l.max].map((v) => `<td>${formatMs(v)}</td>`).join('')}<td>${formatMs(l.mean)}</td><td>${formatNumber(l.count)}</td></tr>`;
}

export function figuresSection(model: ReportModel): string {
  const s = model.summary;
  const m = s.messages;
  const rows = shownLatencies(s, { generator: true }).map((m) => latencyRow(m.threshold ? m.name : `${m.name} (generator)`, m.description, s.latency[m.name]!));
  return `<table id="latency"><thead><tr><th>Latency</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>mean</th><th>samples</th></tr></thead><tbody>
${rows.join('')}
</tbody></table>
<table id="figures"><tbody>
<tr><th>Logons</th><td>${formatNumber(s.users.logonOk)} of ${formatNumber(s.users.logonAttempts)} succeeded, ${formatNumber(s.users.logonFailures)} failed; ${formatNumber(s.users.disconnects)} disconnects, ${formatNumber(s.users.reconnects)} reconnects</td></tr>
<tr><th>Messages</th><td>${formatNumber(m.sent)} IM + ${formatNumber(m.channelSent)} channel sent; ${m.acrossSegments ? `<span id="across-segments">${h(acrossSegmentsText(m))}</span>` : `${formatNumber(m.delivered)} of ${formatNumber(m.expected)} deliveries arrived, ${formatNumber(m.lost)} lost (${formatNumber(m.lossRate * 100, 4)} %)`}, ${formatNumber(m.duplicates)} duplicates, ${formatNumber(m.misrouted)} misrouted</td></tr>
${s.presence.changes > 0 || s.presence.expected > 0 ? `<tr><th>Presence</th><td>${formatNumber(s.presence.changes)} changes; ${formatNumber(s.presence.seen)} of ${formatNumber(s.presence.expected)} expected notifications seen by watchers${s.presence.measuredBy.length > 0 ? ` (${h(presenceMethodText(s.presence))})` : ''}; ${formatNumber(s.presence.initialStates)} initial states on subscribing</td></tr>` : ''}
${s.eachInstance ? `<tr id="each-instance"><th>Each-instance channels</th><td>${h(describeEachInstance(s.eachInstance))}. <small>${h(s.eachInstance.counted)}.</small></td></tr>` : ''}
${countedProtocolMetrics(s).map(({ definition, value }) => `<tr><th>${h(definition.name)}</th><td>${formatNumber(value)}: ${h(definition.description)}</td></tr>`).join('')}
<tr><th>Bandwidth per user</th><td>${bandwidthHeadline(model)}. ${h(s.bandwidth.counted)}${s.timeScale !== 1 ? `. The run compressed time ${s.timeScale}×, so behaviour traffic per wall-clock second is inflated compared with real time${s.bandwidth.normalised ? `; normalised: ${h(s.bandwidth.normalised.method)}` : ''}.` : ''}</td></tr>
<tr><th>Errors</th><td>${formatNumber(s.errors.total)} (${formatNumber(s.errors.rate * 100, 4)} % of operations)${Object.keys(s.errors.byKind).length > 0 ? `: ${Object.entries(s.errors.byKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${h(k)} ×${formatNumber(n)}`).join(', ')}` : ''}</td></tr>
<tr><th>Generator</th><td>${s.generator.workers} worker(s), event-loop p99 ≤ ${formatMs(s.generator.eventLoopP99)}, ${h(describeRssPerVu(s.generator))}${s.generator.silentWorkers?.length ? `<br><span class="warn" id="silent-workers">${h(describeSilentWorkers(s.generator))}</span>` : ''}</td></tr>
</tbody></table>`;
}

export function protocolSections(model: ReportModel): string {
  const c = model.summary.crossCheck;
  return model.protocolSections.map((section) => {
    const isTarget = section.protocol === model.summary.target.protocol;
    const check = !isTarget ? '' : c
      ? `<p class="crosscheck ${c.match === false ? 'bad' : ''}">Cross-check: imload counted ${formatNumber(c.imloadOnline)} users online; the server says ${c.serverOnline === null ? 'nothing (it could not be asked)' : formatNumber(c.serverOnline)} (${h(c.source)})${c.match === false ? ' — <strong>they disagree</strong>' : c.match ? ' — they agree' : ''}.</p>`
      : '<p>No cross-check of the server’s own user count was journaled (the run ended before the hold phase did, or the protocol has none).</p>';
    const notes = section.notes.length > 0 ? `<ul>${section.notes.map((n) => `<li><code>${h(n.key)}</code> ${h(n.text)}</li>`).join('')}</ul>` : '<p>No notes.</p>';
    return `<section class="protocol" id="protocol-${h(section.protocol)}"><h3>${h(section.protocol.toUpperCase())}</h3>${check}${notes}</section>`;
  }).join('\n');
}

/** Formats the sizing answer's cells; the page script fills the same data-sizing cells the same way. */
export function sizingCells(answer: SizingAnswer): Record<string, string> {
  const cells: Record<string, string> = { peakOnline: formatNumber(answer.peakOnline) };
  answer.servers.forEach((s, i) => (cells[`servers-${i}`] = s.servers === null ? 'unknown' : formatNumber(s.servers)));
  answer.bandwidth.forEach((b, i) => {
    cells[`total-${i}`] = `${formatNumber(b.totalKbps / 1000, 2)} Mbit/s`;
    cells[`site-${i}`] = b.siteKbps === null ? '—' : `${formatNumber(b.siteKbps, 1)} kbit/s`;
    cells[`link-${i}`] = b.siteLinkUse === null ? '—' : `${formatNumber(b.siteLinkUse * 100, 0)} %`;
  });
  return cells;
}

export function sizingSection(model: ReportModel): string {
  const { query, measuredCapacityNote } = model.sizing;
  const cells = sizingCells(sizeDeployment(query));
  const cell = (key: string) => `<td data-sizing="${key}">${h(cells[key] ?? '')}</td>`;
  const input = (id: string, label: string, value: number, step: string) =>
    `<label>${h(label)} <input type="number" id="${id}" value="${value}" min="0" step="${step}"></label>`;
  return `<form id="sizing-form" onsubmit="return false">
${input('sizing-users', 'Users (accounts)', query.users, '1')}
${input('sizing-fraction', 'Online at peak, %', query.peakOnlineFraction * 100, 'any')}
${input('sizing-site-users', 'Users at one branch site', query.site?.users ?? 0, '1')}
${input('sizing-site-link', 'Its link, kbit/s', query.site?.linkKbps ?? 0, 'any')}
</form>
<p>Peak online: <strong data-sizing="peakOnline">${h(cells.peakOnline!)}</strong> users.</p>
<table id="sizing-servers"><thead><tr><th>Capacity per server</th><th>Users per server</th><th>Servers needed</th></tr></thead><tbody>
${query.capacities.map((c, i) => `<tr><td>${h(c.label)}</td><td>${formatNumber(c.perServer)}</td>${cell(`servers-${i}`)}</tr>`).join('\n')}
</tbody></table>
<p class="note">${h(measuredCapacityNote)}</p>
<table id="sizing-bandwidth"><thead><tr><th>Bandwidth per user</th><th>All users at peak</th><th>Branch site</th><th>Site link use</th></tr></thead><tbody>
${query.bandwidths.map((b, i) => `<tr><td>${h(b.label)}</td>${cell(`total-${i}`)}${cell(`site-${i}`)}${cell(`link-${i}`)}</tr>`).join('\n')}
</tbody></table>
<p class="note">Bandwidth per user: application bytes in real time (a compressed-time run's figure normalised, never its wall-clock one); the documented figure is an 8-hour average.</p>`;
}

export function reproduceSection(model: ReportModel): string {
  const r = model.summary.reproduce;
  const host = model.header?.host;
  return `<div class="reproduce" id="reproduce">
<p>Command</p><pre><code>${h(r.command)}</code></pre>
<dl class="facts">
  <dt>Seed</dt><dd>${r.seed}</dd>
  <dt>Scenario file</dt><dd><code>${h(r.scenarioFile)}</code></dd>
  <dt>imload</dt><dd>${h(r.imloadVersion)}</dd>
  <dt>Server</dt><dd>${h(model.serverVersion)}</dd>
  ${host ? `<dt>Generator host</dt><dd>${h(host.hostname)}, ${host.cpus} CPUs, ${formatNumber(host.memoryBytes / 2 ** 30, 1)} GiB, Node ${h(host.node)}</dd>` : ''}
</dl>
<p>Scenario as run (after overrides; secrets are references only)</p>
<pre><code>${h(model.scenarioText)}</code></pre>
</div>`;
}
