/**
 * junit.xml: one test case per threshold and per limit verdict, so CI shows them as tests.
 * A failed threshold and a missed limit fail; a limit not reached, and a threshold one segment of a
 * multi-host run leaves to the merged run, are skipped, with the reason.
 */
import { escapeXml as x } from '../text/escape.js';
import { formatMetricValue, verdictLabel } from './format.js';
import type { Summary } from '../analysis/summary.js';
import { thresholdLimit } from './text.js';

interface Case {
  readonly name: string;
  readonly className: string;
  readonly failure?: string;
  readonly skipped?: string;
  readonly output: string;
}

function suite(name: string, cases: readonly Case[], timestamp: string, seconds: number): string {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const body = cases.map((c) => {
    const inner = c.failure !== undefined ? `<failure message="${x(c.failure)}">${x(c.failure)}</failure>`
      : c.skipped !== undefined ? `<skipped message="${x(c.skipped)}"/>`
      : '';
    return `    <testcase name="${x(c.name)}" classname="${x(c.className)}" time="0">${inner}<system-out>${x(c.output)}</system-out></testcase>`;
  });
  return `  <testsuite name="${x(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" timestamp="${x(timestamp)}" time="${seconds}">\n${body.join('\n')}\n  </testsuite>`;
}

export function renderJunit(summary: Summary): string {
  const prefix = `imload.${summary.scenario.name}`;
  const thresholds: Case[] = summary.thresholds.map((t) => {
    const measured = `measured ${formatMetricValue(t.metric, t.actual)}, limit ${thresholdLimit(t)}`;
    const className = `${prefix}.thresholds`;
    if (t.notJudged !== undefined) return { name: t.name, className, output: t.notJudged, skipped: `not judged: ${t.notJudged}` };
    return { name: t.name, className, output: measured, ...(t.ok ? {} : { failure: `${t.name} failed: ${measured}` }) };
  });
  const verdicts: Case[] = (summary.limits?.verdicts ?? []).map((v) => {
    const name = `${v.id}: ${v.kind === 'atLeast' ? '>=' : '<='} ${v.value} ${v.unit}`;
    const text = `${verdictLabel(v)}: ${v.reason}`;
    const className = `${prefix}.limits.${summary.limits!.profile}`;
    if (v.verdict === 'missed') return { name, className, failure: text, output: text };
    if (v.verdict === 'not-reached' || v.verdict === 'inconclusive') return { name, className, skipped: v.reason, output: text };
    return { name, className, output: text };
  });
  const time = summary.durationSeconds;
  const suites = [suite(`${prefix}.thresholds`, thresholds, summary.startedAt, time)];
  if (summary.limits) suites.push(suite(`${prefix}.limits`, verdicts, summary.startedAt, time));
  const all = [...thresholds, ...verdicts];
  const failures = all.filter((c) => c.failure !== undefined).length;
  const skipped = all.filter((c) => c.skipped !== undefined).length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="imload ${x(summary.runId)}" tests="${all.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time}">\n${suites.join('\n')}\n</testsuites>\n`;
}
