/**
 * Threshold checks are one-line expressions, `metric op value[unit]`, e.g. `delivery.p99 < 2s`,
 * `errors.rate <= 1%`, `users.peakOnline >= 19900`. Metric names are the summary's.
 */
import { DURATION_HINT, parseDurationText } from './duration.js';

export const LATENCY_METRICS = ['logon', 'register', 'join', 'delivery', 'presence'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];
/** `logon.p95`, `register.max`, ...: a threshold metric that is a latency statistic (in ms). */
export const LATENCY_METRIC = new RegExp(`^(${LATENCY_METRICS.join('|')})\\.`);

/**
 * A latency statistic: any percentile `pNN` or `pNN.N…` strictly between 0 and 100 (p50, p95,
 * p99.9, p99.99), or `max` or `mean`. Percentiles are read from the run's HDR histograms, so any
 * of them is as exact as p99.
 */
const PERCENTILE_STAT = /^p(\d{1,2}(?:\.\d+)?)$/;

/** The percentile a statistic names (`p99.9` → 99.9), or null for max, mean and non-percentiles. */
export function percentileOf(stat: string): number | null {
  const match = PERCENTILE_STAT.exec(stat);
  if (!match) return null;
  const p = Number(match[1]);
  return p > 0 ? p : null;
}

function isLatencyStat(stat: string): boolean {
  return stat === 'max' || stat === 'mean' || percentileOf(stat) !== null;
}

/** Metrics every protocol produces (the engine counts them whatever the agent). */
const COUNTED_METRICS: readonly string[] = [
  'errors.count',
  'errors.rate',
  'messages.lost',
  'messages.lossRate',
  'messages.duplicates',
  'messages.misrouted',
  'users.peakOnline',
  'users.onlineRatio',
  'users.logonFailures',
  'bandwidth.kbpsPerUser',
  'generator.eventLoopP99',
];

/** Fractions of a whole: written as a percentage (`1%`) or a fraction below 1 (`0.01`). */
const RATE_METRICS: readonly string[] = ['errors.rate', 'messages.lossRate', 'users.onlineRatio'];

/** How the metric vocabulary reads in messages and the JSON Schema's description. */
export const THRESHOLD_METRICS: readonly string[] = [
  ...LATENCY_METRICS.map((m) => `${m}.pNN (any percentile: p50, p95, p99.9, ...), ${m}.max, ${m}.mean`),
  ...COUNTED_METRICS,
];

/** `join` for `join.p95`: the latency a metric reads, or undefined for a counted metric. */
export function latencyOf(metric: string): LatencyMetric | undefined {
  const dot = metric.indexOf('.');
  const latency = LATENCY_METRICS.find((m) => m === metric.slice(0, dot));
  return latency && isLatencyStat(metric.slice(dot + 1)) ? latency : undefined;
}

export function isThresholdMetric(metric: string): boolean {
  return latencyOf(metric) !== undefined || COUNTED_METRICS.includes(metric);
}

export type Comparison = '<' | '<=' | '>' | '>=' | '==';

export interface ThresholdCheck {
  readonly metric: string;
  readonly op: Comparison;
  /** In the metric's base unit: milliseconds for latency, a fraction for rates. */
  readonly value: number;
}

const CHECK = /^\s*([A-Za-z][\w.]*)\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?)\s*(%|(?:ms|h|m|s)(?:\d+(?:\.\d+)?(?:ms|h|m|s))*)?\s*$/;

/** Parses a check; returns a human-readable reason when it is not valid. */
export function parseThresholdCheck(text: string): ThresholdCheck | string {
  const match = CHECK.exec(text);
  if (!match) return `expected "metric op value", e.g. "delivery.p99 < 2s" (got "${text}")`;
  const [, metric, op, number, unit] = match as unknown as [string, string, Comparison, string, string | undefined];
  if (!isThresholdMetric(metric)) {
    return `unknown metric "${metric}"; known: ${THRESHOLD_METRICS.join(', ')}`;
  }
  let value = Number(number);
  const isLatency = latencyOf(metric) !== undefined || metric === 'generator.eventLoopP99';
  if (RATE_METRICS.includes(metric)) {
    const rate = rateValue(value, unit);
    if (typeof rate === 'string') return `${metric}: ${rate}`;
    value = rate;
  } else if (unit === '%') {
    return `"%" only applies to rates and ratios, not ${metric}`;
  } else if (unit !== undefined) {
    if (!isLatency) return `time units only apply to latencies, not ${metric}`;
    // The same duration grammar as scenario files and --duration (250ms, 2s, 1m30s, 1h).
    const ms = parseDurationText(`${number}${unit}`);
    if (ms === undefined) return `"${number}${unit}" is not ${DURATION_HINT}`;
    value = ms;
  }
  return { metric, op, value };
}

/**
 * A rate as a fraction: `1%` or `0.01`, nothing else. A bare number of 1 or more is refused,
 * because `errors.rate < 1` reads as "below 1 %" to most people and as "below 100 %" to the
 * grammar.
 */
function rateValue(value: number, unit: string | undefined): number | string {
  if (unit === '%') return value >= 0 && value <= 100 ? value / 100 : `a percentage is 0% to 100%, not ${value}%`;
  if (unit !== undefined) return `a rate takes "%" or no unit, not "${unit}"`;
  if (value < 0) return `a rate is a fraction from 0 to 1, not ${value}`;
  if (value >= 1) {
    return `${value} is ambiguous for a rate: write a percentage like 1% or a fraction below 1 like 0.01 (100% for all)`;
  }
  return value;
}

export function compare(actual: number, op: Comparison, limit: number): boolean {
  switch (op) {
    case '<':
      return actual < limit;
    case '<=':
      return actual <= limit;
    case '>':
      return actual > limit;
    case '>=':
      return actual >= limit;
    case '==':
      return actual === limit;
  }
}
