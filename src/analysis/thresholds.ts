/** Evaluates a scenario's thresholds against the summary's figures (k6-style pass/fail for CI). */
import type { Scenario } from '../scenarios/schema.js';
import { compare, parseThresholdCheck } from '../metrics/threshold-grammar.js';
import { METRICS } from '../protocols/metric-registry.js';

export interface ThresholdResult {
  readonly name: string;
  readonly expression: string;
  readonly metric: string;
  /** The measured value in the metric's base unit (ms, fraction, count); null if never measured. */
  readonly actual: number | null;
  readonly ok: boolean;
  readonly abortOnFail: boolean;
}

export interface ThresholdSpec {
  readonly check: string;
  readonly abortOnFail: boolean;
  readonly delayAbortEval: number;
}

export function thresholdSpecs(scenario: Scenario): ThresholdSpec[] {
  return scenario.thresholds.map((t) =>
    typeof t === 'string' ? { check: t, abortOnFail: false, delayAbortEval: 10_000 } : t,
  );
}

/**
 * `lookup` returns the current value of a metric (the metric registry's; see metricValue), or null when unmeasured.
 * An unmeasured metric fails (a gate must not pass on missing data) unless `missing` is 'pass'.
 */
export function evaluateThresholds(
  specs: readonly ThresholdSpec[],
  lookup: (metric: string) => number | null,
  missing: 'fail' | 'pass' = 'fail',
): ThresholdResult[] {
  return specs.map((spec) => {
    const parsed = parseThresholdCheck(METRICS, spec.check);
    if (typeof parsed === 'string') {
      return { name: spec.check, expression: spec.check, metric: '', actual: null, ok: false, abortOnFail: spec.abortOnFail };
    }
    const actual = lookup(parsed.metric);
    const ok = actual === null ? missing === 'pass' : compare(actual, parsed.op, parsed.value);
    return { name: spec.check, expression: `${parsed.op} ${parsed.value}`, metric: parsed.metric, actual, ok, abortOnFail: spec.abortOnFail };
  });
}
