/**
 * Compares a run with a baseline: per-metric deltas, a rank-sum test on per-second samples, and
 * limits on how much worse each metric may get. A metric regresses only when its change is in the
 * worse direction, beyond every bound of its limit, and — where per-second samples exist —
 * statistically significant, so run-to-run noise is not called a regression.
 */
import type { RunAggregate } from '../metrics/aggregate.js';
import type { JournalEntry } from '../metrics/journal.js';
import { median } from 'simple-statistics';
import { rankSumTest, type RankSumResult } from './compare-stats.js';
import { buildSummary, metricValue, type Summary } from '../analysis/summary.js';
import { MetricRegistry, type CompareRule, type MetricDefinition } from '../metrics/registry.js';
import { METRICS } from '../protocols/metric-registry.js';

export interface RegressionLimit {
  /** Allowed worsening as a fraction of the baseline (0.1 = 10 %). */
  readonly relative?: number;
  /** Allowed worsening in the metric's unit (ms for latencies, a fraction for rates). */
  readonly absolute?: number;
}

export class CompareInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompareInputError';
  }
}

interface CompareMetric {
  readonly name: string;
  readonly unit: 'ms' | 'fraction' | 'count' | 'kbit/s';
  readonly better: 'lower' | 'higher';
  readonly defaultLimit: RegressionLimit;
  readonly value: (summary: Summary) => number | null;
  /** Per-second samples for the significance test; absent for whole-run totals. */
  readonly samples?: (aggregate: RunAggregate) => number[];
}

const PERCENTILES = ['p50', 'p95', 'p99'] as const;

/** Seconds of the steady phase when there was one (ramps distort rates), else every second. */
function steadySeconds(aggregate: RunAggregate) {
  const hold = aggregate.series.filter((p) => p.phase === 'hold');
  return hold.length > 0 ? hold : aggregate.series;
}

const PER_SECOND: Record<NonNullable<CompareRule['samples']>, (a: RunAggregate) => number[]> = {
  errors: (a) => a.series.map((p) => p.errors),
  kbpsPerUser: (a) => steadySeconds(a).filter((p) => p.online > 0).map((p) => p.kbpsPerUser),
};

function compareUnit(definition: MetricDefinition): CompareMetric['unit'] {
  return definition.unit === 'ms' || definition.unit === 'fraction' || definition.unit === 'kbit/s' ? definition.unit : 'count';
}

/** A registered metric's comparisons: p50/p95/p99 of a latency, else the metric itself. */
function fromRegistry(definition: MetricDefinition, rule: CompareRule): CompareMetric[] {
  if (definition.kind === 'latency') {
    const kind = definition.name;
    return PERCENTILES.map((p) => ({
      name: `${kind}.${p}`,
      unit: 'ms',
      better: rule.better,
      defaultLimit: rule.limit,
      value: (s) => (s.latency[kind] && s.latency[kind].count > 0 ? s.latency[kind][p] : null),
      // Every second with samples counts: logons and joins mostly happen during the ramp.
      samples: (a) => a.series.flatMap((point) => (point.latency[kind] && point.latency[kind]!.count > 0 ? [point.latency[kind]![p]] : [])),
    }));
  }
  const protocolCounter = definition.origin === 'protocol' && definition.kind === 'counter';
  return [
    {
      name: definition.name,
      unit: compareUnit(definition),
      better: rule.better,
      defaultLimit: rule.limit,
      value: (s) => {
        if (rule.measuredWhen !== undefined && !(((MetricRegistry.read(s, rule.measuredWhen) as number | undefined) ?? 0) > 0)) return null;
        return metricValue(s, definition.name);
      },
      ...(rule.samples ? { samples: PER_SECOND[rule.samples] } : protocolCounter ? { samples: (a: RunAggregate) => a.series.map((p) => p.counters[definition.name] ?? 0) } : {}),
    },
  ];
}

/**
 * What compare judges: every registered metric with a compare rule (latencies as p50/p95/p99),
 * in registry order, and the delivery throughput, which is compare's own.
 */
export const COMPARE_METRICS: readonly CompareMetric[] = [
  ...METRICS.all.flatMap((definition) => (definition.compare ? fromRegistry(definition, definition.compare) : [])),
  {
    name: 'messages.deliveredPerSecond',
    unit: 'count',
    better: 'higher',
    defaultLimit: { relative: 0.1 },
    value: (s) => (s.durationSeconds > 0 ? s.messages.delivered / s.durationSeconds : null),
    samples: (a) => steadySeconds(a).map((p) => p.counters.deliveriesReceived ?? 0),
  },
];

/** Parses `metric=10%` (relative), `metric=20ms` / `metric=2s` (latency) or `metric=0.001` (absolute). */
export function parseRegressionLimit(text: string): { metric: string; limit: RegressionLimit } {
  const match = /^\s*([\w.]+)\s*=\s*(\d+(?:\.\d+)?)\s*(%|ms|s)?\s*$/.exec(text);
  if (!match) throw new CompareInputError(`--max-regression "${text}": expected metric=N% or metric=N (e.g. delivery.p99=10%)`);
  const [, metric, number, unit] = match as unknown as [string, string, string, string | undefined];
  const definition = COMPARE_METRICS.find((m) => m.name === metric);
  if (!definition) throw new CompareInputError(`--max-regression "${text}": unknown metric "${metric}"; known: ${COMPARE_METRICS.map((m) => m.name).join(', ')}`);
  const value = Number(number);
  if (unit === '%') return { metric, limit: { relative: value / 100 } };
  if (unit !== undefined && definition.unit !== 'ms') throw new CompareInputError(`--max-regression "${text}": time units only apply to latencies`);
  return { metric, limit: { absolute: unit === 's' ? value * 1000 : value } };
}

export type MetricStatus =
  | 'regression'
  | 'worse, not significant'
  | 'worse, too few seconds to test'
  | 'worse, within limit'
  | 'better'
  | 'unchanged'
  | 'not measured';

export interface MetricComparison {
  readonly metric: string;
  readonly unit: CompareMetric['unit'];
  readonly better: 'lower' | 'higher';
  readonly baseline: number | null;
  readonly run: number | null;
  readonly delta: number | null;
  /** delta / baseline; null when the baseline is 0 or missing. */
  readonly relativeDelta: number | null;
  readonly limit: RegressionLimit;
  /** One-sided p-value that the run is worse, from the per-second samples; null when untested. */
  readonly pWorse: number | null;
  readonly samples: { readonly baseline: number; readonly run: number } | null;
  readonly status: MetricStatus;
}

export interface RunComparison {
  /** Each side's first run (a repeat folder's repeat-1): who ran what, for the header. */
  readonly baseline: Summary;
  readonly run: Summary;
  /** Runs on each side: more than 1 for a repeat folder, whose values are medians over its runs. */
  readonly baselineRuns: number;
  readonly runRuns: number;
  readonly alpha: number;
  /** alpha divided by the number of metrics tested (Bonferroni). */
  readonly alphaPerTest: number;
  readonly metrics: readonly MetricComparison[];
  readonly regressions: readonly MetricComparison[];
}

function exceedsLimit(worsening: number, baseline: number, limit: RegressionLimit): boolean {
  if (worsening <= 0) return false;
  const overAbsolute = limit.absolute === undefined || worsening > limit.absolute;
  const overRelative = limit.relative === undefined || baseline === 0 || worsening / Math.abs(baseline) > limit.relative;
  return overAbsolute && overRelative;
}

type Measured = Omit<MetricComparison, 'status'> & { readonly exceedsLimit: boolean; readonly untestable: boolean };

type Side = ReadonlyArray<{ summary: Summary; aggregate: RunAggregate }>;

/** A side's value: the run's own, or for several runs (a repeat folder) the median of those that measured it. */
function sideValue(def: CompareMetric, side: Side): number | null {
  const values = side.map((r) => def.value(r.summary)).filter((v): v is number => v !== null);
  return values.length === 0 ? null : median(values);
}

function measureMetric(def: CompareMetric, base: Side, run: Side, limit: RegressionLimit): Measured {
  const b = sideValue(def, base);
  const r = sideValue(def, run);
  const common = { metric: def.name, unit: def.unit, better: def.better, baseline: b, run: r, limit };
  if (b === null || r === null) return { ...common, delta: null, relativeDelta: null, pWorse: null, samples: null, exceedsLimit: false, untestable: false };
  const delta = r - b;
  let test: RankSumResult | null = null;
  let samples: MetricComparison['samples'] = null;
  if (def.samples) {
    // Several runs pool their per-second samples: the test then sees the run-to-run spread too.
    const bs = base.flatMap((b) => def.samples!(b.aggregate));
    const rs = run.flatMap((r) => def.samples!(r.aggregate));
    samples = { baseline: bs.length, run: rs.length };
    test = rankSumTest(bs, rs);
  }
  return {
    ...common,
    delta,
    relativeDelta: b !== 0 ? delta / Math.abs(b) : null,
    pWorse: test ? (def.better === 'lower' ? test.pGreater : test.pLess) : null,
    samples,
    exceedsLimit: exceedsLimit(def.better === 'lower' ? delta : -delta, b, limit),
    untestable: samples !== null && test === null,
  };
}

function status(m: Measured, alphaPerTest: number): MetricStatus {
  if (m.delta === null) return 'not measured';
  if (m.delta === 0) return 'unchanged';
  if ((m.better === 'lower' ? m.delta : -m.delta) < 0) return 'better';
  if (!m.exceedsLimit) return 'worse, within limit';
  // A metric that has per-second samples but too few of them (e.g. logons in a short ramp) cannot
  // be told from noise: it is reported, not called a regression.
  if (m.untestable) return 'worse, too few seconds to test';
  if (m.pWorse !== null && m.pWorse >= alphaPerTest) return 'worse, not significant';
  return 'regression';
}

/** Each side is one run's journal, or several (a repeat folder's runs, compared by their medians). */
export function compareRuns(
  baselineJournals: ReadonlyArray<readonly JournalEntry[]>,
  runJournals: ReadonlyArray<readonly JournalEntry[]>,
  options: { readonly limits?: ReadonlyMap<string, RegressionLimit>; readonly alpha?: number } = {},
): RunComparison {
  const alpha = options.alpha ?? 0.05;
  if (baselineJournals.length === 0 || runJournals.length === 0) throw new CompareInputError('compare: each side needs at least one run');
  const base = baselineJournals.map((entries) => buildSummary(entries));
  const run = runJournals.map((entries) => buildSummary(entries));
  const measured = COMPARE_METRICS.map((def) => measureMetric(def, base, run, options.limits?.get(def.name) ?? def.defaultLimit));
  // Bonferroni: with a dozen metrics tested at once, one would pass alpha by chance alone.
  const tests = measured.filter((m) => m.pWorse !== null).length;
  const alphaPerTest = alpha / Math.max(1, tests);
  const metrics: MetricComparison[] = measured.map((m) => {
    const { exceedsLimit: _exceeds, untestable: _untestable, ...shown } = m;
    return { ...shown, status: status(m, alphaPerTest) };
  });
  return {
    baseline: base[0]!.summary,
    run: run[0]!.summary,
    baselineRuns: base.length,
    runRuns: run.length,
    alpha,
    alphaPerTest,
    metrics,
    regressions: metrics.filter((m) => m.status === 'regression'),
  };
}
