/**
 * Threshold checks are one-line expressions, `metric op value[unit]`, e.g. `delivery.p99 < 2s`,
 * `errors.rate <= 1%`, `users.peakOnline >= 19900`. Metric names are the summary's.
 */
import { DURATION_HINT, parseDurationText } from './duration.js';
import { percentileOf, type MetricDefinition, type MetricRegistry } from './registry.js';

export { percentileOf };

/**
 * The metric vocabulary is the registry's (src/metrics/registry.ts): a latency `<name>` gives
 * `<name>.pNN`, `<name>.max` and `<name>.mean`; every other threshold metric is named whole. The
 * functions below take the registry; src/protocols/metric-registry.ts binds them to the one a
 * run uses (engine metrics plus every descriptor's).
 */

/** How the metric vocabulary reads in messages and the JSON Schema's description. */
export function thresholdMetrics(registry: MetricRegistry): string[] {
  return registry.thresholdVocabulary();
}

/** `join` for `join.p95`: the latency a metric reads, or undefined for a metric that is not a latency statistic. */
export function latencyOf(registry: MetricRegistry, metric: string): string | undefined {
  const found = registry.thresholdMetric(metric);
  return found?.definition.kind === 'latency' ? found.definition.name : undefined;
}

/** The registered metric a threshold metric reads (`errors.rate`, or `delivery` for `delivery.p99`). */
export function metricOf(registry: MetricRegistry, metric: string): MetricDefinition | undefined {
  return registry.thresholdMetric(metric)?.definition;
}

export function isThresholdMetric(registry: MetricRegistry, metric: string): boolean {
  return registry.thresholdMetric(metric) !== undefined;
}

/** Whether a metric's values are milliseconds (a latency statistic, or a gauge in ms). */
export function isTimeMetric(registry: MetricRegistry, metric: string): boolean {
  return metricOf(registry, metric)?.unit === 'ms';
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
export function parseThresholdCheck(registry: MetricRegistry, text: string): ThresholdCheck | string {
  const match = CHECK.exec(text);
  if (!match) return `expected "metric op value", e.g. "delivery.p99 < 2s" (got "${text}")`;
  const [, metric, op, number, unit] = match as unknown as [string, string, Comparison, string, string | undefined];
  const definition = metricOf(registry, metric);
  if (!definition) {
    return `unknown metric "${metric}"; known: ${thresholdMetrics(registry).join(', ')}`;
  }
  let value = Number(number);
  const isLatency = definition.unit === 'ms';
  if (definition.kind === 'rate') {
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
