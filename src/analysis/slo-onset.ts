/**
 * When did a failed latency SLO first break? The summary judges the whole run; a capacity report
 * also wants the load at which things went wrong (limits.md: "missed at N — the first load level
 * at which an SLO broke"). This finds the first second whose own interval percentile broke the
 * check, and how many users were online then.
 */
import { compare, parseThresholdCheck } from '../metrics/threshold-grammar.js';
import { METRICS } from '../protocols/metric-registry.js';
import type { ThresholdResult } from './thresholds.js';
import { PERCENTILES, type TimeSeries } from './series.js';

export interface SloOnset {
  readonly threshold: string;
  /** Seconds since the run started. */
  readonly t: number;
  readonly online: number;
  readonly planned: number | null;
  /** The interval value that broke the check, in the metric's unit (ms). */
  readonly value: number;
}

/** Only for failed thresholds on per-second latency percentiles; `series` must be undownsampled. */
export function findSloOnsets(series: TimeSeries, thresholds: readonly ThresholdResult[]): SloOnset[] {
  const onsets: SloOnset[] = [];
  for (const threshold of thresholds) {
    if (threshold.ok) continue;
    const check = parseThresholdCheck(METRICS, threshold.name);
    if (typeof check === 'string') continue;
    const found = METRICS.thresholdMetric(check.metric);
    if (found?.definition.kind !== 'latency' || !(PERCENTILES as readonly (string | undefined)[]).includes(found.stat)) continue;
    const column = series.columns[`latency:${found.definition.name}:${found.stat}`] ?? [];
    const i = column.findIndex((v) => v !== null && !compare(v, check.op, check.value));
    if (i < 0) continue;
    onsets.push({
      threshold: threshold.name,
      t: series.t[i]!,
      online: series.columns.online?.[i] ?? 0,
      planned: series.columns.target?.[i] ?? null,
      value: column[i]!,
    });
  }
  return onsets;
}
