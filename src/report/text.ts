/**
 * The readable summary printed at the end of a run, and the live progress line. k6-style: the
 * verdict first (it decides the exit code), then every threshold with ✓/✗ and units on both
 * sides, then the figures; numbers and durations formatted one way throughout.
 */
import type { LatencySummary } from '../metrics/histogram.js';
import { parseThresholdCheck } from '../protocols/metric-registry.js';
import type { ThresholdResult } from '../analysis/thresholds.js';
import { acrossSegmentsText, countedProtocolMetrics, formatMetricValue, formatMs, formatNumber, labServerDropsText, shownLatencies } from './format.js';
import type { RunProgress } from '../metrics/aggregate.js';
import { describePerUserBandwidth } from './per-user-bandwidth.js';
import { presenceMethodText, type Summary } from '../analysis/summary.js';
import { describeRssPerVu, describeSilentWorkers } from '../analysis/generator.js';
import { describeEachInstance } from './each-instance.js';
import { delayedText, outageHeadline, recoveryText, sampleText, transactionsText } from './fault-text.js';
import { netsplitLines } from './netsplits.js';

/** A duration for people: "20 s", "1 min 30 s", "2 h 5 min"; tenths of a second below a minute. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${formatNumber(seconds, 1)} s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const min = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  if (h > 0) return min > 0 ? `${h} h ${min} min` : `${h} h`;
  return s > 0 ? `${min} min ${s} s` : `${min} min`;
}

/** The run's verdict in one line; it agrees with the exit code (see src/exit-codes.ts). */
export function verdictLine(summary: Summary): string {
  const failed = summary.thresholds.filter((t) => !t.ok);
  const left = summary.thresholds.filter((t) => t.notJudged !== undefined);
  const count = summary.thresholds.length - left.length;
  const after = formatDuration(summary.durationSeconds);
  const ended = `the run ${summary.end.reason} after ${after}${summary.end.detail ? ` (${summary.end.detail})` : ''}`;
  const judged = count === 0 ? (left.length === 0 ? 'no thresholds set' : 'no threshold judged here')
    : failed.length === 0 ? `${count === 1 ? 'the threshold' : `all ${count} thresholds`} held`
    : `${failed.length} of ${count} thresholds failed: ${failed.map((t) => t.metric || t.name).join(', ')}`;
  const gate = left.length === 0 ? judged : `${judged} (${left.map((t) => t.metric).join(', ')} left to imload merge: this is one segment)`;
  // A killed run's journal has no end record: its figures stop where the journal does.
  if (summary.end.reason === 'unknown') return `■ CUT SHORT: ${summary.end.detail ?? 'the journal has no end record'}, ${after} in; ${gate}`;
  if (summary.end.reason === 'failed') return `✗ IMLOAD FAILED: ${ended}; ${gate}`;
  if (summary.end.reason === 'interrupted') return `■ INTERRUPTED: ${ended}; ${gate}`;
  if (failed.length > 0) return `✗ FAILED: ${gate}; ${ended}`;
  return `✓ PASSED: ${gate}; ${ended}`;
}

/** A threshold's limit in its metric's unit ("< 3 s", ">= 1,500", "< 1 %"), or why the check is not valid. */
export function thresholdLimit(t: Pick<ThresholdResult, 'name'>): string {
  const check = parseThresholdCheck(t.name);
  return typeof check === 'string' ? `not a valid threshold: ${check}` : `${check.op} ${formatMetricValue(check.metric, check.value)}`;
}

/** "✓ delivery.p99 1.23 s < 3 s": the measured value and the limit in the same unit. */
export function thresholdLine(t: ThresholdResult, timeScale: number): string {
  const mark = t.notJudged !== undefined ? '–' : t.ok ? '✓' : '✗';
  const check = parseThresholdCheck(t.name);
  if (typeof check === 'string') return `${mark} ${t.name}  (${thresholdLimit(t)})`;
  if (t.notJudged !== undefined) return `${mark} ${check.metric} not judged here ${thresholdLimit(t)}: ${t.notJudged}`;
  const measured = t.actual === null ? 'not measured' : formatMetricValue(check.metric, t.actual);
  // A bandwidth threshold reads the wall-clock figure: say so when that is not real time.
  const basis = check.metric === 'bandwidth.kbpsPerUser' && timeScale !== 1 && t.actual !== null ? ' (wall-clock)' : '';
  return `${mark} ${check.metric} ${measured}${basis} ${thresholdLimit(t)}`;
}

function latencyLine(name: string, l: LatencySummary): string {
  if (l.count === 0) return `  ${name.padEnd(10)} (no samples)`;
  return `  ${name.padEnd(10)} p50 ${formatMs(l.p50).padStart(9)}  p95 ${formatMs(l.p95).padStart(9)}  p99 ${formatMs(l.p99).padStart(9)}  max ${formatMs(l.max).padStart(9)}  (n=${formatNumber(l.count)})`;
}

const n = (x: number) => formatNumber(x);

export function formatSummaryText(summary: Summary, runDir: string): string {
  const s = summary;
  const out: string[] = [];
  out.push('');
  out.push(verdictLine(s));
  out.push(`imload run ${s.runId}: scenario ${s.scenario.name} against ${s.target.url} (seed ${s.seed}, timeScale ${formatNumber(s.timeScale)})`);
  if (s.thresholds.length > 0) {
    out.push('');
    out.push('thresholds');
    for (const t of s.thresholds) out.push(`  ${thresholdLine(t, s.timeScale)}`);
  }
  if (s.limits) {
    out.push('');
    out.push(`limits: ${s.limits.title} [${s.limits.profile} v${s.limits.version}]`);
    for (const v of s.limits.verdicts) {
      const label = v.verdict === 'met' ? 'met' : v.verdict === 'missed' ? `missed at ${n(v.at ?? 0)}` : v.verdict === 'inconclusive' ? 'inconclusive' : 'not reached';
      out.push(`  ${v.id}: ${n(v.value)} ${v.unit}: ${label}: ${v.reason}`);
    }
  }
  out.push('');
  out.push(`users      requested ${n(s.users.requested)}, peak online ${n(s.users.peakOnline)}, logons ok ${n(s.users.logonOk)} of ${n(s.users.logonAttempts)}, failed ${n(s.users.logonFailures)}, disconnects ${n(s.users.disconnects)}, reconnects ${n(s.users.reconnects)}`);
  for (const m of shownLatencies(s)) out.push(latencyLine(m.name, s.latency[m.name]!));
  const m = s.messages;
  const others = `duplicates ${n(m.duplicates)}, misrouted ${n(m.misrouted)}, recipient offline ${n(m.undeliverable)}, send failures ${n(m.failed)}`;
  out.push(
    m.acrossSegments
      ? `messages   IM sent ${n(m.sent)}, channel sent ${n(m.channelSent)}; ${others}; deliveries: ${acrossSegmentsText(m)}`
      : `messages   IM sent ${n(m.sent)}, channel sent ${n(m.channelSent)}; deliveries expected ${n(m.expected)}, delivered ${n(m.delivered)}, lost ${n(m.lost)}${m.lostToNetsplit > 0 ? ` (and ${n(m.lostToNetsplit)} to the netsplit)` : ''}, ${others}`,
  );
  if (s.presence.changes > 0) {
    out.push(`presence   changes ${n(s.presence.changes)}, watcher notifications expected ${n(s.presence.expected)} (by schedule), seen ${n(s.presence.seen)}${s.presence.measuredBy.length > 0 ? `, ${presenceMethodText(s.presence)}` : ''}`);
  }
  if (s.eachInstance) out.push(`instances  ${describeEachInstance(s.eachInstance)}`);
  for (const { definition, value } of countedProtocolMetrics(s)) out.push(`${s.target.protocol.padEnd(10)} ${n(value)} ${definition.name}`);
  out.push(`bandwidth  ${describePerUserBandwidth(s)}; in ${formatNumber(s.bandwidth.bytesIn / 1024, 1)} KiB, out ${formatNumber(s.bandwidth.bytesOut / 1024, 1)} KiB`);
  const kinds = Object.entries(s.errors.byKind).sort((a, b) => b[1] - a[1]);
  out.push(`errors     ${n(s.errors.total)}${kinds.length > 0 ? `: ${kinds.map(([k, x]) => `${k} ×${n(x)}`).join(', ')}` : ''}`);
  if (s.crossCheck) {
    const c = s.crossCheck;
    out.push(`crosscheck imload online ${n(c.imloadOnline)}, server says ${c.serverOnline === null ? 'n/a' : n(c.serverOnline)} (${c.source})${c.match === false ? '  MISMATCH' : ''}`);
  }
  const serverDrops = labServerDropsText(s);
  if (serverDrops) out.push(`server     ${serverDrops}`);
  const g = s.generator;
  out.push(`generator  ${n(g.workers)} worker(s), event-loop p99 ≤ ${formatMs(g.eventLoopP99)}, ${describeRssPerVu(g)}${g.bottleneck ? `  BOTTLENECK: ${g.reasons.join('; ')}` : ''}${g.lostOnHost?.length ? `  LOST ON IMLOAD'S HOST: ${g.lostOnHost.join('; ')}` : ''}${g.silentWorkers?.length ? `  SILENT: ${describeSilentWorkers(g)}` : ''}`);
  for (const o of s.faults.outages) {
    out.push(`fault      ${outageHeadline(o)}`);
    if (o.transactions) {
      out.push(`  failed   ${transactionsText(o.transactions.failed, o.downAt)}`);
      if (o.transactions.failed.users > 0) out.push(`           ${sampleText(o.transactions.failed)}`);
      out.push(`  retried elsewhere  ${transactionsText(o.transactions.retried, o.downAt)}`);
      if (o.transactions.retried.users > 0) out.push(`           ${sampleText(o.transactions.retried)}`);
      out.push(`  delayed  ${delayedText(o.transactions.delayed, o.downAt)}`);
      if (o.transactions.delayed.users > 0) out.push(`           ${sampleText(o.transactions.delayed)}`);
      out.push(`  recovery ${recoveryText(o)}`);
    }
  }
  out.push(...netsplitLines(s));
  if (s.stepSearch) {
    out.push('');
    out.push(`step search: sustainable ${s.stepSearch.sustainable === null ? 'none' : n(s.stepSearch.sustainable)}, broke at ${s.stepSearch.brokeAt === null ? '—' : n(s.stepSearch.brokeAt)}${s.stepSearch.gaveOut ? ` (${s.stepSearch.gaveOut})` : ''}`);
    for (const step of s.stepSearch.steps) {
      out.push(`  ${n(step.level).padStart(7)} users  ${step.ok ? 'held' : 'BROKE'}  ${step.windows.map((w) => (w.ok ? 'ok' : `✗ ${w.failed.join(', ') || 'generator'}`)).join(' | ')}`);
    }
  }
  if (s.notes.length > 0) {
    out.push('');
    out.push('notes');
    for (const note of s.notes) out.push(`  ${note.text}`);
  }
  out.push('');
  out.push(`outputs in ${runDir} (report: ${runDir}/index.html)`);
  return out.join('\n');
}

/** The live line: elapsed of planned wall-clock time, the phase, then the running figures. */
export function formatProgress(p: RunProgress, plannedSeconds: number): string {
  const t = p.totals;
  const clock = `${formatDuration(p.t).padStart(10)} of ${formatDuration(plannedSeconds)}`;
  return `${clock}  ${p.phase.padEnd(8)}  online ${n(p.online)}/${n(p.requested)}  logons ${n(t.logonOk)} (failed ${n(t.logonFailed)})  sent ${n(t.messagesSent + t.channelMessagesSent)}  delivered ${n(t.deliveriesReceived)}  delivery p99 ${formatMs(p.deliveryP99)}  errors ${n(t.errors)}`;
}
