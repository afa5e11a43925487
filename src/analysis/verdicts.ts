/**
 * Verdicts against a limit profile (limits.md § What the harness derives): *met*, *missed at N*
 * with the SLO that broke, *not reached* and why, or *inconclusive* when the host or the
 * generator ran out in the seconds that decided it. A limit the run never reached is never met.
 */
import type { LimitProfile } from '../scenarios/schema.js';
import type { ThresholdResult } from './thresholds.js';
import { generatorFailureReasons, generatorMayExplainFailure, type GeneratorVerdict } from './generator.js';
import { describeSaturation, errorWindow, holdWindow, judgeSaturation, onsetWindow, spanWindow, type Saturation, type SaturationSecond } from './saturation.js';

export type VerdictKind = 'met' | 'missed' | 'not-reached' | 'inconclusive';

export interface LimitVerdict {
  readonly id: string;
  readonly metric: string;
  readonly kind: 'atLeast' | 'atMost';
  readonly value: number;
  readonly unit: string;
  readonly source: string;
  readonly wording: string;
  readonly verdict: VerdictKind;
  /** The measured figure the verdict rests on. */
  readonly measured: number | null;
  /** For `missed`: the load level at which it broke. */
  readonly at?: number;
  readonly reason: string;
  /** For `inconclusive`: the window that decided it and what ran out there. */
  readonly saturation?: Saturation;
}

export interface LimitVerdicts {
  readonly profile: string;
  readonly title: string;
  readonly version: string;
  readonly verdicts: readonly LimitVerdict[];
}

export interface VerdictInputs {
  readonly requested: number;
  readonly peakOnline: number;
  readonly kbpsPerUser: number;
  readonly timeScale: number;
  /** Bandwidth per user normalised to real time (src/analysis/normalise.ts), when timeScale ≠ 1. */
  readonly normalisedKbpsPerUser?: number | null;
  readonly lookup: (metric: string) => number | null;
  readonly thresholds: readonly ThresholdResult[];
  readonly generator: GeneratorVerdict;
  /** The server process's open-file limit, when the lab could read it. */
  readonly serverFdLimit?: number;
  readonly logonFailures: number;
  readonly errorsByKind: Record<string, number>;
  /** A step search's outcome, when the run was one. */
  readonly stepSearch?: {
    readonly sustainable: number | null;
    readonly brokeAt: number | null;
    readonly gaveOut: string | null;
    readonly reason: string;
    readonly steps?: ReadonlyArray<{ readonly level: number; readonly windows: ReadonlyArray<{ readonly t0: number; readonly t1: number; readonly ok: boolean }> }>;
  } | null;
  /** The first second a latency SLO broke, and the users online then. */
  readonly sloBroke?: { readonly online: number; readonly threshold: string; readonly t: number };
  /** The run's seconds (host CPU, worker health): a verdict on saturated seconds is inconclusive. */
  readonly seconds?: readonly SaturationSecond[];
}

export function judgeLimits(profile: LimitProfile & { name: string }, inputs: VerdictInputs): LimitVerdicts {
  return {
    profile: profile.name,
    title: profile.title,
    version: profile.version,
    verdicts: profile.figures.map((figure) => {
      const base = { id: figure.id, metric: figure.metric, kind: figure.kind, value: figure.value, unit: figure.unit, source: figure.source, wording: figure.wording };
      const judged = figure.metric === 'users.peakOnline' ? judgeUsers(figure.value, inputs) : judgeFigure(figure.metric, figure.kind, figure.value, inputs);
      // Bytes per user do not depend on how fast the host ran; everything else does.
      return { ...base, ...(figure.metric === 'bandwidth.kbpsPerUser' ? judged : unlessSaturated(judged, inputs)) };
    }),
  };
}

type Judgement = Pick<LimitVerdict, 'verdict' | 'measured' | 'at' | 'reason' | 'saturation'>;

/**
 * A met or missed verdict stands only if the seconds that decided it were not saturated
 * (docs/metrics.md § Saturation); otherwise it is inconclusive and names what ran out.
 */
function unlessSaturated(judged: Judgement, inputs: VerdictInputs): Judgement {
  if ((judged.verdict !== 'met' && judged.verdict !== 'missed') || !inputs.seconds || inputs.seconds.length === 0) return judged;
  const saturation = judgeSaturation(decisiveWindow(judged, inputs, inputs.seconds));
  if (saturation.resources.length === 0) return judged;
  const would = judged.verdict === 'met' ? 'met' : `missed${judged.at !== undefined ? ` at ${judged.at}` : ''}`;
  return {
    verdict: 'inconclusive',
    measured: judged.measured,
    reason: `${describeSaturation(saturation)}, so the machine, not the server, may have shaped the figures; on the figures alone it would read “${would}” (${judged.reason})`,
    saturation,
  };
}

/**
 * The seconds a verdict rests on: before a latency SLO broke, or those with errors when an error
 * SLO did, for "missed"; the hold for "met".
 */
function decisiveWindow(judged: Judgement, inputs: VerdictInputs, seconds: readonly SaturationSecond[]) {
  const search = inputs.stepSearch;
  if (search?.steps) {
    const level = judged.verdict === 'missed' ? search.brokeAt : search.sustainable;
    const windows = search.steps.find((s) => s.level === level)?.windows ?? [];
    const spans = judged.verdict === 'missed' ? windows.filter((w) => !w.ok) : windows;
    if (spans.length > 0) return spanWindow(seconds, spans, `the ${judged.verdict === 'missed' ? 'failed ' : ''}measurement window${spans.length === 1 ? '' : 's'} at ${level} users`);
  }
  if (judged.verdict === 'missed' && inputs.sloBroke) return onsetWindow(seconds, inputs.sloBroke);
  // An error SLO broke: the seconds the errors fell in decide it, wherever they were.
  if (judged.verdict === 'missed' && inputs.thresholds.some((t) => !t.ok && t.metric.startsWith('errors.'))) {
    const erring = errorWindow(seconds);
    if (erring.points.length > 0) return erring;
  }
  return holdWindow(seconds);
}

/**
 * A figure missed while the generator was the bottleneck (late or starved) or lost what the server
 * sent (answers dropped on its own sockets) may be the generator's failure, not the server's: it
 * is not reached, and the reason says what the figures alone would read.
 */
function unlessGeneratorBound(missed: Judgement, inputs: VerdictInputs): Judgement {
  const { generator } = inputs;
  if (!generatorMayExplainFailure(generator)) return missed;
  const why = generator.bottleneck ? 'the load generator was the bottleneck' : 'the load generator lost what the server sent';
  return {
    verdict: 'not-reached',
    measured: missed.measured,
    reason: `${why} (${generatorFailureReasons(generator)}); on the figures alone it would read “missed${missed.at !== undefined ? ` at ${n(missed.at)}` : ''}” (${missed.reason})`,
  };
}

function failedSlos(inputs: VerdictInputs): string {
  return inputs.thresholds.filter((t) => !t.ok).map((t) => t.name).join('; ');
}

function judgeUsers(limit: number, inputs: VerdictInputs): Judgement {
  const { peakOnline, requested } = inputs;
  const search = inputs.stepSearch;
  if (search) {
    if (search.sustainable !== null && search.sustainable >= limit) {
      return { verdict: 'met', measured: search.sustainable, reason: `the step search held every SLO up to ${n(search.sustainable)} users` };
    }
    if (search.brokeAt !== null && search.gaveOut !== 'generator') {
      return { verdict: 'missed', measured: search.sustainable, at: search.brokeAt, reason: `step search: ${search.reason}` };
    }
    if (search.gaveOut === 'generator') {
      return { verdict: 'not-reached', measured: search.sustainable, reason: `step search: the load generator gave out first (${search.reason})` };
    }
    return { verdict: 'not-reached', measured: search.sustainable, reason: `step search: ${search.reason}, below ${n(limit)}` };
  }
  const broken = failedSlos(inputs);
  const onset = inputs.sloBroke;
  if (onset && onset.online < limit && !inputs.generator.bottleneck) {
    return unlessGeneratorBound({
      verdict: 'missed',
      measured: peakOnline,
      at: onset.online,
      reason: `${onset.threshold} first broke ${onset.t} s into the run with ${n(onset.online)} users online (SLOs failed: ${broken})`,
    }, inputs);
  }
  if (peakOnline >= limit) {
    if (broken) return unlessGeneratorBound({ verdict: 'missed', measured: peakOnline, at: onset?.online ?? peakOnline, reason: `${n(peakOnline)} users online, but SLOs broke: ${broken}` }, inputs);
    if (inputs.generator.bottleneck) {
      return { verdict: 'not-reached', measured: peakOnline, reason: `the load generator was the bottleneck (${inputs.generator.reasons.join('; ')})` };
    }
    return { verdict: 'met', measured: peakOnline, reason: `${n(peakOnline)} users online within every SLO` };
  }
  const ceiling = inputs.serverFdLimit !== undefined && limit >= inputs.serverFdLimit - 20
    ? ` The server process may open at most ${n(inputs.serverFdLimit)} files, so one process cannot hold ${n(limit)} clients on this host (about ${n(inputs.serverFdLimit - 10)} at most).`
    : '';
  if (requested < limit) {
    return { verdict: 'not-reached', measured: peakOnline, reason: `the scenario asked for ${n(requested)} users, fewer than ${n(limit)}.${ceiling}` };
  }
  if (inputs.generator.bottleneck) {
    return { verdict: 'not-reached', measured: peakOnline, reason: `the load generator was the bottleneck (${inputs.generator.reasons.join('; ')})` };
  }
  if (ceiling) return { verdict: 'not-reached', measured: peakOnline, reason: `${n(peakOnline)} users online at peak.${ceiling}` };
  const kinds = Object.entries(inputs.errorsByKind).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, n]) => `${k} ×${n}`).join(', ');
  return unlessGeneratorBound({
    verdict: 'missed',
    measured: peakOnline,
    at: peakOnline,
    reason: `only ${n(peakOnline)} of ${n(requested)} users were online at peak; ${n(inputs.logonFailures)} logons failed${kinds ? ` (${kinds})` : ''}${broken ? `; SLOs broke: ${broken}` : ''}`,
  }, inputs);
}

function judgeFigure(metric: string, kind: 'atLeast' | 'atMost', limit: number, inputs: VerdictInputs): Judgement {
  const measured = inputs.lookup(metric);
  if (measured === null || inputs.peakOnline === 0) return { verdict: 'not-reached', measured, reason: 'the run measured no users online' };
  if (metric === 'bandwidth.kbpsPerUser' && inputs.timeScale !== 1 && typeof inputs.normalisedKbpsPerUser === 'number') {
    const real = inputs.normalisedKbpsPerUser;
    const basis = `normalised ${round(real)} kbit/s per user (from ${round(measured)} wall-clock at timeScale ${inputs.timeScale})`;
    const holds = kind === 'atMost' ? real <= limit : real >= limit;
    if (!holds) return { verdict: 'missed', measured: real, at: inputs.peakOnline, reason: `${basis} with ${n(inputs.peakOnline)} users online` };
    if (inputs.generator.bottleneck) {
      return { verdict: 'not-reached', measured: real, reason: `the load generator was the bottleneck (${inputs.generator.reasons.join('; ')})` };
    }
    return { verdict: 'met', measured: real, reason: `${basis} with ${n(inputs.peakOnline)} users online` };
  }
  if (metric === 'bandwidth.kbpsPerUser' && inputs.timeScale !== 1) {
    return {
      verdict: 'not-reached',
      measured,
      reason: `measured ${measured.toFixed(3)} kbit/s per user wall-clock at timeScale ${inputs.timeScale}; compressed time inflates behaviour traffic, so this is not comparable with a real-time figure until normalised`,
    };
  }
  const ok = kind === 'atMost' ? measured <= limit : measured >= limit;
  if (!ok) return unlessGeneratorBound({ verdict: 'missed', measured, at: inputs.peakOnline, reason: `measured ${round(measured)} with ${n(inputs.peakOnline)} users online` }, inputs);
  if (inputs.generator.bottleneck) {
    return { verdict: 'not-reached', measured, reason: `the load generator was the bottleneck (${inputs.generator.reasons.join('; ')})` };
  }
  return { verdict: 'met', measured, reason: `measured ${round(measured)} with ${n(inputs.peakOnline)} users online` };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
/** A count as every output writes it (20,000). */
const n = (x: number | null) => (x === null ? 'none' : x.toLocaleString('en'));
