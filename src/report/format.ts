/** Number formatting shared by the report's HTML, Markdown and JUnit outputs. */
import { metricOf } from '../metrics/threshold-grammar.js';
import type { MetricDefinition } from '../metrics/registry.js';
import { METRICS } from '../protocols/metric-registry.js';
import type { Summary } from '../analysis/summary.js';

/**
 * One Intl.NumberFormat per precision: toLocaleString builds a new one on every call, and the live
 * page formats a few hundred numbers a second (the largest self time in its --cpu-prof, issue 20).
 */
const NUMBER_FORMATS = new Map<number, Intl.NumberFormat>();

export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  let format = NUMBER_FORMATS.get(digits);
  if (!format) NUMBER_FORMATS.set(digits, (format = new Intl.NumberFormat('en', { maximumFractionDigits: digits })));
  return format.format(value);
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${formatNumber(ms / 1000, 2)} s` : `${formatNumber(ms, ms < 10 ? 2 : 0)} ms`;
}

/** A threshold metric's value in its registered unit: ms as durations, fractions as percentages, kbit/s named. */
export function formatMetricValue(metric: string, value: number | null): string {
  if (value === null) return 'not measured';
  const unit = metricOf(METRICS, metric)?.unit;
  if (unit === 'ms') return formatMs(value);
  if (unit === 'fraction') return `${formatNumber(value * 100, 3)} %`;
  if (unit === 'kbit/s') return `${formatNumber(value, 3)} kbit/s`;
  return formatNumber(value);
}

/** The verdict as the report words it: met, missed at N, not reached. */
export function verdictLabel(v: { verdict: string; at?: number }): string {
  if (v.verdict === 'met') return 'met';
  if (v.verdict === 'missed') return v.at !== undefined ? `missed at ${formatNumber(v.at)}` : 'missed';
  return v.verdict === 'inconclusive' ? 'inconclusive' : 'not reached';
}

/**
 * The latencies a report table shows, in registry order: every server-side latency the run's
 * protocol produces, any other with samples, and imload's own lateness (`generator`) when asked.
 */
export function shownLatencies(summary: Pick<Summary, 'latency' | 'target'>, options: { readonly generator?: boolean } = {}): MetricDefinition[] {
  return METRICS.latencies().filter((m) => {
    if (!m.threshold) return options.generator === true;
    return (summary.latency[m.name]?.count ?? 0) > 0 || METRICS.produces(m, summary.target.protocol);
  });
}

/** The protocols' counters a run counted (non-zero), in registry order, with their values. */
export function countedProtocolMetrics(summary: Pick<Summary, 'counters'>): Array<{ readonly definition: MetricDefinition; readonly value: number }> {
  return METRICS.protocolCounters()
    .map((definition) => ({ definition, value: summary.counters?.[definition.name] ?? 0 }))
    .filter((c) => c.value > 0);
}

/**
 * "its UDP sockets dropped 50,316 datagrams in 35 seconds (receive buffers full: it did not read
 * them in time)", or undefined when it dropped none or was not sampled.
 */
export function labServerDropsText(summary: Pick<Summary, 'labServer'>): string | undefined {
  const drops = summary.labServer?.udpReceiveDrops;
  if (!drops || drops.datagrams === 0) return undefined;
  return `its UDP sockets dropped ${formatNumber(drops.datagrams)} datagram${drops.datagrams === 1 ? '' : 's'} in ${formatNumber(drops.seconds)} second${drops.seconds === 1 ? '' : 's'} (receive buffers full: it did not read them in time)`;
}

/**
 * A segment run's deliveries, said for a person: what it counted and why its losses are the merged
 * run's to tell (Summary.messages.acrossSegments). "" for a whole or merged run.
 */
export function acrossSegmentsText(messages: Summary['messages']): string {
  const part = messages.acrossSegments;
  if (!part) return '';
  return `this run is segment ${part.segment} of ${part.of}: its senders expected ${formatNumber(messages.expected)} deliveries to users in every segment, its users received ${formatNumber(messages.delivered + messages.unexpected)} from senders in every segment; the other segments' journals hold the rest, so losses are the merged run's to tell (imload merge)`;
}
