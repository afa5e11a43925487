/** The comparison as text (stdout) and as a self-contained HTML page (no scripts, no network). */
import { escapeHtml as h } from '../text/escape.js';
import { formatNumber } from './format.js';
import type { MetricComparison, RegressionLimit, RunComparison } from './compare.js';

function value(m: MetricComparison, v: number | null): string {
  if (v === null) return '–';
  if (m.unit === 'fraction') return `${formatNumber(v * 100, 4)} %`;
  if (m.unit === 'ms') return `${formatNumber(v, 3)} ms`;
  if (m.unit === 'kbit/s') return `${formatNumber(v, 4)} kbit/s`;
  return formatNumber(v, 2);
}

function delta(m: MetricComparison): string {
  if (m.delta === null) return '–';
  const sign = m.delta > 0 ? '+' : '';
  const rel = m.relativeDelta === null ? '' : ` (${sign}${formatNumber(m.relativeDelta * 100, 1)} %)`;
  return `${sign}${value(m, m.delta)}${rel}`;
}

export function describeLimit(m: Pick<MetricComparison, 'unit' | 'better'>, limit: RegressionLimit): string {
  const parts: string[] = [];
  if (limit.relative !== undefined) parts.push(`${formatNumber(limit.relative * 100, 2)} %`);
  if (limit.absolute !== undefined) parts.push(value({ unit: m.unit } as MetricComparison, limit.absolute));
  return `${m.better === 'lower' ? 'rise' : 'drop'} > ${parts.join(' and ')}`;
}

function p(m: MetricComparison): string {
  if (m.pWorse === null) return m.samples ? `untested (n=${m.samples.baseline}/${m.samples.run})` : 'no per-second samples';
  return m.pWorse < 0.0001 ? '< 0.0001' : formatNumber(m.pWorse, 4);
}

/** "run-id" or, for a repeat folder, "median of 3 runs (the first: run-id)": each value on that side is a median. */
function sideName(s: RunComparison['run'], runs: number): string {
  return runs > 1 ? `median of ${runs} runs (the first: ${s.runId})` : s.runId;
}

export function formatComparisonText(c: RunComparison): string {
  const rows = c.metrics.map((m) => [m.metric, value(m, m.baseline), value(m, m.run), delta(m), describeLimit(m, m.limit), p(m), m.status]);
  const header = ['metric', 'baseline', 'run', 'delta', 'limit', 'p(worse)', 'status'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  const verdict = c.regressions.length > 0 ? `REGRESSION in ${c.regressions.map((m) => m.metric).join(', ')}` : 'no regression';
  return [`baseline ${sideName(c.baseline, c.baselineRuns)} vs run ${sideName(c.run, c.runRuns)} (rank-sum test on per-second samples, alpha ${c.alpha}, ${formatNumber(c.alphaPerTest, 4)} per metric after Bonferroni)`, '', line(header), ...rows.map(line), '', verdict].join('\n');
}

/** The machine-readable comparison (`imload compare --json`); its shape is in docs/report.md. */
export const COMPARISON_JSON_VERSION = 1;

export function comparisonJson(c: RunComparison, htmlPath: string): object {
  const side = (s: RunComparison['run'], runs: number) => ({ runId: s.runId, runs, basis: runs > 1 ? `median of ${runs} runs` : 'one run', seed: s.seed, command: s.reproduce.command, peakOnline: s.users.peakOnline, durationSeconds: s.durationSeconds, end: s.end.reason });
  return {
    version: COMPARISON_JSON_VERSION,
    baseline: side(c.baseline, c.baselineRuns),
    run: side(c.run, c.runRuns),
    alpha: c.alpha,
    alphaPerTest: c.alphaPerTest,
    regression: c.regressions.length > 0,
    regressions: c.regressions.map((m) => m.metric),
    metrics: c.metrics,
    html: htmlPath,
  };
}

export function renderComparisonHtml(c: RunComparison): string {
  const rows = c.metrics.map((m) => `<tr class="${m.status === 'regression' ? 'regression' : ''}"><td><code>${h(m.metric)}</code></td><td>${h(value(m, m.baseline))}</td><td>${h(value(m, m.run))}</td><td>${h(delta(m))}</td><td>${h(describeLimit(m, m.limit))}</td><td>${h(p(m))}</td><td class="status">${h(m.status)}</td></tr>`);
  const verdict = c.regressions.length > 0
    ? `<p class="bad" id="verdict">Regression: ${c.regressions.map((m) => h(m.metric)).join(', ')}</p>`
    : '<p class="good" id="verdict">No regression: every change is within its limit or not statistically significant.</p>';
  const run = (title: string, s: RunComparison['run'], runs: number) => `<td><strong>${h(title)}</strong><br>${h(sideName(s, runs))}<br><code>${h(s.reproduce.command)}</code><br>seed ${s.seed}, ${formatNumber(s.users.peakOnline)} online at peak, ${formatNumber(s.durationSeconds, 1)} s, ended: ${h(s.end.reason)}</td>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="color-scheme" content="light dark">
<title>imload comparison — ${h(c.baseline.runId)} vs ${h(c.run.runId)}</title>
<style>
:root { --fg: #1d1d1f; --bg: #fff; --line: #d8d8d8; --bad: #b3261e; --good: #1e7d4f; --hl: #fdecea; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --bg: #17181a; --line: #3a3b3e; --bad: #ff8a80; --good: #5fd39a; --hl: #3b1f1d; } }
@media print { :root { --fg: #000; --bg: #fff; --line: #999; --hl: #fff; } tr.regression td { font-weight: 700; } }
body { font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); max-width: 1200px; margin: 0 auto; padding: 16px 20px; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
#comparison td { white-space: nowrap; } #comparison td:last-child { white-space: normal; } .scroll { overflow-x: auto; }
tr.regression td { background: var(--hl); } .bad { color: var(--bad); font-weight: 700; } .good { color: var(--good); font-weight: 700; }
</style></head><body>
<h1>imload comparison</h1>
<table><tr>${run('Baseline', c.baseline, c.baselineRuns)}${run('Run', c.run, c.runRuns)}</tr></table>
${verdict}
<p>A metric regresses only when it got worse beyond its limit and, where per-second samples exist, a one-sided Mann-Whitney rank-sum test says the change is significant (p &lt; ${c.alpha}, divided by the number of metrics tested: ${formatNumber(c.alphaPerTest, 4)}). Latency samples are the per-second interval percentiles; rate samples are per-second counts over the steady phase.</p>
<div class="scroll"><table id="comparison"><thead><tr><th>Metric</th><th>Baseline</th><th>Run</th><th>Delta</th><th>Regression limit</th><th>p(worse)</th><th>Status</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>
</body></html>
`;
}
