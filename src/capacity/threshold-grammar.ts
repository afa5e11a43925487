/**
 * Threshold checks are one-line expressions, `metric op value[unit]`, e.g. `delivery.p99 < 2s`,
 * `errors.rate <= 1%`, `users.peakOnline >= 19900`. Metric names are the summary's.
 */

const LATENCY_STATS = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'] as const;
export const LATENCY_METRICS = ['logon', 'register', 'join', 'delivery', 'presence'] as const;
/** `logon.p95`, `register.max`, ...: a threshold metric that is a latency statistic (in ms). */
export const LATENCY_METRIC = new RegExp(`^(${LATENCY_METRICS.join('|')})\\.`);

export const THRESHOLD_METRICS: readonly string[] = [
  ...LATENCY_METRICS.flatMap((m) => LATENCY_STATS.map((s) => `${m}.${s}`)),
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

export type Comparison = '<' | '<=' | '>' | '>=' | '==';

export interface ThresholdCheck {
  readonly metric: string;
  readonly op: Comparison;
  /** In the metric's base unit: milliseconds for latency, a fraction for rates. */
  readonly value: number;
}

const CHECK = /^\s*([A-Za-z][\w.]*)\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|%)?\s*$/;

/** Parses a check; returns a human-readable reason when it is not valid. */
export function parseThresholdCheck(text: string): ThresholdCheck | string {
  const match = CHECK.exec(text);
  if (!match) return `expected "metric op value", e.g. "delivery.p99 < 2s" (got "${text}")`;
  const [, metric, op, number, unit] = match as unknown as [string, string, Comparison, string, string | undefined];
  if (!THRESHOLD_METRICS.includes(metric)) {
    return `unknown metric "${metric}"; known: ${THRESHOLD_METRICS.join(', ')}`;
  }
  let value = Number(number);
  const isLatency = LATENCY_METRICS.some((m) => metric.startsWith(`${m}.`)) || metric === 'generator.eventLoopP99';
  if (unit === '%') {
    if (!metric.endsWith('Rate') && !metric.endsWith('.rate') && !metric.endsWith('Ratio')) {
      return `"%" only applies to rates and ratios, not ${metric}`;
    }
    value /= 100;
  } else if (unit !== undefined) {
    if (!isLatency) return `time units only apply to latencies, not ${metric}`;
    value *= unit === 's' ? 1000 : unit === 'm' ? 60_000 : 1;
  }
  return { metric, op, value };
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
