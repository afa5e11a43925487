/** summary.md: the run in a few Markdown tables, for CI job summaries ($GITHUB_STEP_SUMMARY). */
import { escapeMarkdownCell as cell } from '../text/escape.js';
import type { ThresholdResult } from '../analysis/thresholds.js';
import { describePerUserBandwidth } from './per-user-bandwidth.js';
import { formatDuration, thresholdLimit, verdictLine } from './text.js';
import { acrossSegmentsText, countedProtocolMetrics, formatMetricValue, formatMs, formatNumber, shownLatencies, verdictLabel } from './format.js';
import type { ReportModel } from './report-model.js';
import { describeEachInstance } from './each-instance.js';

const ICON: Record<string, string> = { met: '✅', missed: '❌', 'not-reached': '⏭️', inconclusive: '❔' };

export function renderMarkdown(model: ReportModel): string {
  const s = model.summary;
  const out: string[] = [];
  out.push(`## imload: ${s.scenario.name} (${s.runId})`, '', `**${cell(verdictLine(s))}**`, '');
  if (model.cutShort) out.push(`> ⚠️ ${model.cutShort}`, '');
  if (s.generator.bottleneck) out.push(`> ⚠️ The load generator was the bottleneck: ${s.generator.reasons.join('; ')}`, '');
  if (s.generator.lostOnHost?.length) out.push(`> ⚠️ imload's host lost what the server sent: ${s.generator.lostOnHost.join('; ')}. No failure is booked as missed.`, '');
  out.push(`${formatNumber(s.users.peakOnline)} of ${formatNumber(s.users.requested)} users online at peak against ${s.target.name} (${s.target.protocol}), ${formatDuration(s.durationSeconds)}, ended: ${s.end.reason}, seed ${s.seed}.`, '');
  if (s.limits) {
    out.push(`### Limits: ${cell(s.limits.title)}`, '', '| limit | figure | measured | verdict | why |', '|---|---|---|---|---|');
    for (const v of s.limits.verdicts) {
      const measured = v.measured === null ? 'not measured' : formatMetricValue(v.metric, v.measured);
      out.push(`| ${cell(v.id)} | ${v.kind === 'atLeast' ? '≥' : '≤'} ${formatNumber(v.value)} ${cell(v.unit)} | ${cell(measured)} | ${ICON[v.verdict]} ${verdictLabel(v)} | ${cell(v.reason)} |`);
    }
    out.push('');
  }
  if (s.thresholds.length > 0) {
    out.push('### Thresholds', '', '| threshold | measured | limit | result |', '|---|---|---|---|');
    for (const t of s.thresholds) out.push(thresholdRow(t));
    out.push('');
    for (const o of model.sloOnsets) out.push(`- \`${o.threshold}\` first broke at ${formatDuration(o.t)} with ${formatNumber(o.online)} users online (${formatMs(o.value)} that second)`);
    if (model.sloOnsets.length > 0) out.push('');
  }
  out.push('### Figures', '', '| latency | p50 | p95 | p99 | samples |', '|---|---|---|---|---|');
  for (const { name: kind } of shownLatencies(s)) {
    const l = s.latency[kind]!;
    out.push(l.count === 0 ? `| ${kind} | – | – | – | 0 |` : `| ${kind} | ${formatMs(l.p50)} | ${formatMs(l.p95)} | ${formatMs(l.p99)} | ${formatNumber(l.count)} |`);
  }
  const m = s.messages;
  out.push(
    '',
    m.acrossSegments ? `- deliveries: ${acrossSegmentsText(m)}` : `- deliveries: ${formatNumber(m.delivered)} of ${formatNumber(m.expected)}, lost ${formatNumber(m.lost)} (${formatNumber(m.lossRate * 100, 4)} %)`,
    ...(s.presence.expected > 0 ? [`- presence: ${formatNumber(s.presence.seen)} of ${formatNumber(s.presence.expected)} expected notifications seen`] : []),
    ...(s.eachInstance ? [`- each-instance channels: ${describeEachInstance(s.eachInstance)}`] : []),
    ...countedProtocolMetrics(s).map(({ definition, value }) => `- ${definition.name}: ${formatNumber(value)}`),
    `- errors: ${formatNumber(s.errors.total)}${Object.keys(s.errors.byKind).length > 0 ? ` (${Object.entries(s.errors.byKind).map(([k, n]) => `${k} ×${formatNumber(n)}`).join(', ')})` : ''}`,
    `- bandwidth: ${describePerUserBandwidth(s)}`,
    '',
    `Reproduce: \`${s.reproduce.command}\``,
    '',
  );
  return out.join('\n');
}

/** The measured value and the limit in the same unit, e.g. `delivery.p99 < 3s` | 1.23 s | < 3 s. */
function thresholdRow(t: ThresholdResult): string {
  const result = t.notJudged !== undefined ? `➖ not judged: ${t.notJudged}` : t.ok ? '✅ passed' : '❌ failed';
  return `| \`${cell(t.name)}\` | ${t.notJudged !== undefined ? '–' : cell(formatMetricValue(t.metric, t.actual))} | ${cell(thresholdLimit(t))} | ${cell(result)} |`;
}
