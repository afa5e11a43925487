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
  /** False only for a threshold that failed: one not judged here (`notJudged`) does not fail the run. */
  readonly ok: boolean;
  readonly abortOnFail: boolean;
  /** Why this run does not judge it (a segment of a multi-host run: the merged run does); `actual` is then null. */
  readonly notJudged?: string;
}

/** Which part of a multi-host run this is (the journal header's `segment`); a whole run is segment 0 of 1. */
export interface RunPart {
  readonly index: number;
  readonly count: number;
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

export interface EvaluateOptions {
  /** An unmeasured metric fails (a gate must not pass on missing data) unless this is 'pass'. */
  readonly missing?: 'fail' | 'pass';
  /** A segment of a multi-host run leaves thresholds on metrics counted across segments to the merged run. */
  readonly part?: RunPart;
}

/**
 * `lookup` returns the current value of a metric (the metric registry's; see metricValue), or null when unmeasured.
 */
export function evaluateThresholds(
  specs: readonly ThresholdSpec[],
  lookup: (metric: string) => number | null,
  { missing = 'fail', part }: EvaluateOptions = {},
): ThresholdResult[] {
  return specs.map((spec) => {
    const parsed = parseThresholdCheck(METRICS, spec.check);
    if (typeof parsed === 'string') {
      return { name: spec.check, expression: spec.check, metric: '', actual: null, ok: false, abortOnFail: spec.abortOnFail };
    }
    const expression = `${parsed.op} ${parsed.value}`;
    if (part && part.count > 1 && METRICS.get(parsed.metric)?.acrossSegments) {
      // Its senders' recipients in other segments report their receipts in other journals: any
      // figure this segment could give would count their deliveries as lost.
      const notJudged = `segment ${part.index + 1} of ${part.count} holds only its own users' side of ${parsed.metric}; imload merge judges it on the merged run`;
      return { name: spec.check, expression, metric: parsed.metric, actual: null, ok: true, abortOnFail: spec.abortOnFail, notJudged };
    }
    const actual = lookup(parsed.metric);
    const ok = actual === null ? missing === 'pass' : compare(actual, parsed.op, parsed.value);
    return { name: spec.check, expression, metric: parsed.metric, actual, ok, abortOnFail: spec.abortOnFail };
  });
}
