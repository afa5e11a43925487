/**
 * Saturation of the seconds that decide a verdict (docs/metrics.md § Saturation): when the host
 * ran out of CPU, or a worker's CPU or event loop did, the latencies in those seconds speak for
 * the machine, not the server, and a limit verdict resting on them is inconclusive.
 *
 * Unlike the whole-run generator check (generator.ts), this looks only at the decisive window: a
 * run may be healthy for minutes and saturate exactly where its SLO broke.
 */
import type { SecondPoint } from '../metrics/aggregate.js';
import type { GeneratorHealth } from '../metrics/names.js';

export const SATURATION_LIMITS = {
  /** Busy share of all the host's cores. */
  hostCpuPercent: 90,
  /** One worker's CPU, % of one core (a worker is one event loop: one core at most). */
  workerCpuPercent: 95,
  eventLoopP99Ms: 100,
  /**
   * One stall this long in a latency SLO's onset window is enough: every operation in flight
   * waited for it, so the latencies that broke may be the generator's. A second's p99 misses a
   * single stall (the loop is sampled every 10 ms, and a stopped process samples nothing until it
   * resumes); its max does not. The ramp-end collection pauses 119 ms at 10,000 users a worker,
   * 944–1,077 ms at 16,833: when it reaches this inside an onset window, it is imload's stall too.
   */
  stallMs: 1000,
  /** Saturated in more than this share of the window's seconds. */
  secondsFraction: 0.2,
  /** The window before an SLO first broke, seconds (that second included). */
  onsetWindowSeconds: 10,
} as const;

export type SaturationSecond = Pick<SecondPoint, 't' | 'phase' | 'online' | 'health' | 'host'> & Partial<Pick<SecondPoint, 'errors'>>;

export interface SaturatedResource {
  readonly resource: 'host CPU' | 'worker CPU' | 'event loop';
  /** Seconds of the window in which it was at or past its limit. */
  readonly seconds: number;
  readonly text: string;
}

export interface Saturation {
  /** What the window is, e.g. "the 10 s before logon.p95 < 3000 first broke (t 41–50)". */
  readonly window: string;
  readonly seconds: number;
  /** The resources that ran out in more than a fifth of the window's seconds; empty: none did. */
  readonly resources: readonly SaturatedResource[];
}

/** The ten seconds ending with the one an SLO first broke in; a single stall there counts (SATURATION_LIMITS.stallMs). */
export function onsetWindow(points: readonly SaturationSecond[], onset: { readonly t: number; readonly threshold: string }): DecisiveWindow {
  const from = onset.t - SATURATION_LIMITS.onsetWindowSeconds + 1;
  return { points: points.filter((p) => p.t >= from && p.t <= onset.t), label: `the ${SATURATION_LIMITS.onsetWindowSeconds} s up to the second ${onset.threshold} first broke (t ${Math.max(1, from)}–${onset.t})`, stalls: true };
}

/** Seconds a verdict rests on, what to call them, and whether one stall of the generator there is saturation. */
export interface DecisiveWindow {
  readonly points: SaturationSecond[];
  readonly label: string;
  readonly stalls?: boolean;
}

/** The hold's seconds; a run without a hold is judged on every second with users online. */
export function holdWindow(points: readonly SaturationSecond[]): { points: SaturationSecond[]; label: string } {
  const hold = points.filter((p) => p.phase === 'hold');
  if (hold.length > 0) return { points: hold, label: `the hold (t ${hold[0]!.t}–${hold.at(-1)!.t})` };
  return { points: points.filter((p) => p.online > 0), label: 'the seconds with users online (the run had no hold)' };
}

/**
 * The seconds in which the run's errors fell: what decides an error SLO that broke (a ramp-down's
 * logoff timeouts happen there, not in the hold). Empty when the seconds carry no error counts.
 */
export function errorWindow(points: readonly SaturationSecond[]): { points: SaturationSecond[]; label: string } {
  const erring = points.filter((p) => (p.errors ?? 0) > 0);
  const span = erring.length > 0 ? ` (t ${erring[0]!.t}–${erring.at(-1)!.t})` : '';
  return { points: erring, label: `the ${erring.length} second${erring.length === 1 ? '' : 's'} with errors${span}` };
}

/** Seconds between t0 (exclusive) and t1 (inclusive): a step search's measurement windows. */
export function spanWindow(points: readonly SaturationSecond[], spans: ReadonlyArray<{ readonly t0: number; readonly t1: number }>, label: string): { points: SaturationSecond[]; label: string } {
  return { points: points.filter((p) => spans.some((s) => p.t > s.t0 && p.t <= s.t1)), label };
}

export function judgeSaturation(window: { readonly points: readonly SaturationSecond[]; readonly label: string; readonly stalls?: boolean }): Saturation {
  const { points, label } = window;
  const n = points.length;
  const resources: SaturatedResource[] = [];
  const over = (count: number) => n > 0 && count > n * SATURATION_LIMITS.secondsFraction;
  const of = (count: number) => `in ${count} of ${n} seconds`;

  const hostBusy = points.filter((p) => p.host && p.host.cpuPercent >= SATURATION_LIMITS.hostCpuPercent);
  if (over(hostBusy.length)) {
    const peak = Math.max(...hostBusy.map((p) => p.host!.cpuPercent));
    const cores = hostBusy[0]!.host!.cores;
    resources.push({ resource: 'host CPU', seconds: hostBusy.length, text: `host CPU at ${round(peak)} % of ${cores} core${cores === 1 ? '' : 's'} (≥ ${SATURATION_LIMITS.hostCpuPercent} % ${of(hostBusy.length)})` });
  }

  // A stale sample (a worker silent this second) measured nothing: its CPU is last second's, and its
  // event loop did not run for a second, so it counts as stalled, with no p99 of its own.
  const busy = (h: GeneratorHealth) => !h.stale && h.cpuPercent >= SATURATION_LIMITS.workerCpuPercent;
  const workerBusy = points.filter((p) => p.health.some(busy));
  if (over(workerBusy.length)) {
    const workers = namesOf(workerBusy.flatMap((p) => p.health.filter(busy).map((h) => h.worker)));
    const peak = Math.max(...workerBusy.flatMap((p) => p.health.filter(busy).map((h) => h.cpuPercent)));
    resources.push({ resource: 'worker CPU', seconds: workerBusy.length, text: `${workers} CPU at ${round(peak)} % of a core (≥ ${SATURATION_LIMITS.workerCpuPercent} % ${of(workerBusy.length)})` });
  }

  const late = (h: GeneratorHealth) => h.stale === true || h.eventLoopP99 >= SATURATION_LIMITS.eventLoopP99Ms;
  const loopStalled = points.filter((p) => p.health.some(late));
  if (over(loopStalled.length)) {
    const workers = namesOf(loopStalled.flatMap((p) => p.health.filter(late).map((h) => h.worker)));
    const measured = loopStalled.flatMap((p) => p.health.filter((h) => !h.stale && late(h)).map((h) => h.eventLoopP99));
    const silent = loopStalled.filter((p) => p.health.some((h) => h.stale)).length;
    const how = [
      ...(measured.length > 0 ? [`p99 up to ${round(Math.max(...measured))} ms`] : []),
      ...(silent > 0 ? [`no sample at all in ${silent}`] : []),
    ].join(', ');
    resources.push({ resource: 'event loop', seconds: loopStalled.length, text: `event loop of ${workers} stalled, ${how} (≥ ${SATURATION_LIMITS.eventLoopP99Ms} ms${silent > 0 ? ' or silent' : ''} ${of(loopStalled.length)})` });
  } else if (window.stalls) {
    // A stale repeat carries the max of a second already counted.
    const stalled = (h: GeneratorHealth) => !h.stale && h.eventLoopMax >= SATURATION_LIMITS.stallMs;
    const stalls = points.filter((p) => p.health.some(stalled));
    if (stalls.length > 0) {
      const worst = stalls.flatMap((p) => p.health.filter(stalled).map((h) => ({ t: p.t, worker: h.worker, ms: h.eventLoopMax }))).reduce((a, b) => (b.ms > a.ms ? b : a));
      resources.push({
        resource: 'event loop',
        seconds: stalls.length,
        text: `event loop of worker ${worst.worker} stalled for ${round(worst.ms)} ms in the second ending t ${worst.t} (a stall of ≥ ${SATURATION_LIMITS.stallMs} ms ${of(stalls.length)})`,
      });
    }
  }
  return { window: label, seconds: n, resources };
}

/** "worker 0" or "workers 0, 1". */
function namesOf(workers: number[]): string {
  const distinct = [...new Set(workers)].sort((a, b) => a - b);
  return `${distinct.length === 1 ? 'worker' : 'workers'} ${distinct.join(', ')}`;
}

/** One sentence for a verdict's reason. */
export function describeSaturation(saturation: Saturation): string {
  return `${saturation.resources.map((r) => r.text).join('; ')} during ${saturation.window}`;
}

const round = (x: number) => Math.round(x * 10) / 10;
