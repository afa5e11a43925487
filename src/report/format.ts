/** Number formatting shared by the report's HTML, Markdown and JUnit outputs. */
import { LATENCY_METRIC } from '../metrics/threshold-grammar.js';

export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en', { maximumFractionDigits: digits });
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${formatNumber(ms / 1000, 2)} s` : `${formatNumber(ms, ms < 10 ? 2 : 0)} ms`;
}

/** A threshold metric's value in its unit: latencies in ms, rates and ratios as percentages. */
export function formatMetricValue(metric: string, value: number | null): string {
  if (value === null) return 'not measured';
  if (LATENCY_METRIC.test(metric) || metric === 'generator.eventLoopP99') return formatMs(value);
  if (/(Rate|\.rate|Ratio)$/.test(metric)) return `${formatNumber(value * 100, 3)} %`;
  if (metric === 'bandwidth.kbpsPerUser') return `${formatNumber(value, 3)} kbit/s`;
  return formatNumber(value);
}

/** The verdict as the report words it: met, missed at N, not reached. */
export function verdictLabel(v: { verdict: string; at?: number }): string {
  if (v.verdict === 'met') return 'met';
  if (v.verdict === 'missed') return v.at !== undefined ? `missed at ${formatNumber(v.at)}` : 'missed';
  return v.verdict === 'inconclusive' ? 'inconclusive' : 'not reached';
}
