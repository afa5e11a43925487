/**
 * Was imload itself the bottleneck? A run whose generator was late, CPU-starved or near its file
 * limit cannot speak for the server, and its verdicts must say so.
 */
import type { RssPerVu, RunAggregate, SilentWorker, UdpReceiveDrops } from '../metrics/aggregate.js';
import type { LatencySummary } from '../metrics/histogram.js';

export interface GeneratorVerdict {
  readonly workers: number;
  readonly perWorker: ReturnType<RunAggregate['healthPeaksByWorker']>;
  /** Worst per-second event-loop delay p99 across workers, ms. */
  readonly eventLoopP99: number;
  /** RSS above the workers' pre-logon baselines per user online, bytes, over the hold (after the ramp's-end collection); null below the resolution. */
  readonly rssPerVuBytes: number | null;
  /** The smallest RSS per VU the sampling tells from zero, bytes; the seconds and window averaged; the collection's pause; the peak RSS. */
  readonly rssPerVu: Omit<RssPerVu, 'bytes'>;
  /** Datagrams the kernel dropped on the workers' own UDP sockets (receive buffers full): lost on imload's host. */
  readonly udpReceiveDrops: UdpReceiveDrops;
  /** The generator shaped the load itself (late, starved, out of files): no figure is the server's, met or missed. */
  readonly bottleneck: boolean;
  readonly reasons: readonly string[];
  /**
   * What the server sent that imload's own host lost. It does not lighten the server's load (a
   * lost answer is retransmitted), so a figure met stands; but a failure after it may be imload's,
   * so no figure is booked as missed (verdicts.ts). Absent in summaries from before.
   */
  readonly lostOnHost?: readonly string[];
  /** Workers that sent no health sample in some seconds (stopped, swapped out, stalled). Absent in summaries from before. */
  readonly silentWorkers?: readonly SilentWorker[];
}

/** "worker 0 sent no health sample in 6 seconds (t 120–125)", per silent worker; '' when none was. */
export function describeSilentWorkers(generator: Pick<GeneratorVerdict, 'silentWorkers'>): string {
  return (generator.silentWorkers ?? [])
    .map((w) => `worker ${w.worker} sent no health sample in ${w.seconds} second${w.seconds === 1 ? '' : 's'} (t ${w.firstT === w.lastT ? w.firstT : `${w.firstT}–${w.lastT}`}): stopped or stalled`)
    .join('; ');
}

/** Whether a failure may be the generator's, not the server's: it was the bottleneck, or lost what the server sent. */
export function generatorMayExplainFailure(generator: Pick<GeneratorVerdict, 'bottleneck' | 'lostOnHost'>): boolean {
  return generator.bottleneck || (generator.lostOnHost?.length ?? 0) > 0;
}

/** The bottleneck's reasons and what was lost on the host, as one clause. */
export function generatorFailureReasons(generator: Pick<GeneratorVerdict, 'reasons' | 'lostOnHost'>): string {
  return [...generator.reasons, ...(generator.lostOnHost ?? [])].join('; ');
}

/** Limits beyond which the generator, not the server, shapes the figures. */
export const GENERATOR_LIMITS = {
  sendLagP99Ms: 500,
  eventLoopP99Ms: 100,
  busySecondsFraction: 0.1,
  /** A second or two of start-up (module loading, JIT) is not a bottleneck. */
  busySecondsMin: 3,
  cpuPercent: 95,
  openFds: 19_000,
} as const;

export function generatorVerdict(aggregate: RunAggregate, sendLag: LatencySummary): GeneratorVerdict {
  const perWorker = aggregate.healthPeaksByWorker();
  const reasons: string[] = [];
  if (sendLag.count > 0 && sendLag.p99 > GENERATOR_LIMITS.sendLagP99Ms) {
    reasons.push(`sends left ${sendLag.p99} ms after their scheduled time (p99 > ${GENERATOR_LIMITS.sendLagP99Ms} ms)`);
  }
  const seconds = aggregate.series.length;
  if (seconds > 0) {
    let slowLoop = 0;
    let silent = 0;
    let busyCpu = 0;
    for (const point of aggregate.series) {
      // A stale sample is a worker that sent none this second: its loop did not run for a second
      // (late by far more than the limit), and its CPU was not measured (the repeat is last second's).
      if (point.health.some((h) => h.stale || h.eventLoopP99 > GENERATOR_LIMITS.eventLoopP99Ms)) slowLoop++;
      if (point.health.some((h) => h.stale)) silent++;
      if (point.health.some((h) => !h.stale && h.cpuPercent > GENERATOR_LIMITS.cpuPercent)) busyCpu++;
    }
    const sustained = (count: number) => count >= GENERATOR_LIMITS.busySecondsMin && count / seconds > GENERATOR_LIMITS.busySecondsFraction;
    if (sustained(slowLoop)) {
      const stopped = silent > 0 ? ` (in ${silent} of them a worker sent no sample at all: stopped or stalled)` : '';
      reasons.push(`event-loop delay p99 above ${GENERATOR_LIMITS.eventLoopP99Ms} ms in ${slowLoop} of ${seconds} seconds${stopped}`);
    }
    if (sustained(busyCpu)) {
      reasons.push(`a worker used more than ${GENERATOR_LIMITS.cpuPercent} % of a core in ${busyCpu} of ${seconds} seconds`);
    }
  }
  for (const worker of perWorker) {
    if (worker.openFds > GENERATOR_LIMITS.openFds) reasons.push(`worker ${worker.worker} held ${worker.openFds} open files (limit 20,000 per process)`);
  }
  // Any drop: each is an answer the server sent and imload's host lost, so a timeout or a
  // retransmission after it is not the server's doing.
  const udpReceiveDrops = aggregate.udpReceiveDrops();
  const lostOnHost: string[] = [];
  if (udpReceiveDrops.datagrams > 0) {
    const { datagrams, seconds, workers } = udpReceiveDrops;
    lostOnHost.push(
      `the kernel dropped ${datagrams} datagram${datagrams === 1 ? '' : 's'} on the generator's own UDP sockets in ${seconds} second${seconds === 1 ? '' : 's'} (${workers.length === 1 ? 'worker' : 'workers'} ${workers.join(', ')}: receive buffers full), answers lost on imload's host, not by the server`,
    );
  }
  const { bytes: rssPerVuBytes, ...rssPerVu } = aggregate.rssPerVu();
  return {
    workers: perWorker.length,
    perWorker,
    eventLoopP99: aggregate.eventLoopP99(),
    rssPerVuBytes,
    rssPerVu,
    udpReceiveDrops,
    bottleneck: reasons.length > 0,
    reasons,
    lostOnHost,
    silentWorkers: aggregate.silentWorkers(),
  };
}

/**
 * "6.1 KiB RSS per VU after a full GC at the ramp's end (112 ms pause); workers' RSS peaked at
 * 420 MiB (43.0 KiB per VU all-in), the coordinator's at 130 MiB", or that it was below what the sampling can tell, with the
 * resolution. Summaries from before the collection (or the resolution) was recorded lack those fields.
 */
export function describeRssPerVu(generator: Pick<GeneratorVerdict, 'rssPerVuBytes' | 'rssPerVu'>): string {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const { rssPerVu } = generator;
  if (generator.rssPerVuBytes === null && (!rssPerVu || rssPerVu.seconds === 0)) return 'RSS per VU not measured (no seconds with users online and a baseline)';
  const figure =
    generator.rssPerVuBytes === null
      ? `RSS per VU below the sampling's resolution (${kib(rssPerVu.resolutionBytes)})`
      : `${kib(generator.rssPerVuBytes)} RSS per VU`;
  const collected = rssPerVu?.rampCollectionPauseMs === undefined ? '' : ` after a full GC at the ramp's end (${Math.round(rssPerVu.rampCollectionPauseMs)} ms pause)`;
  const peak =
    rssPerVu?.peakRssBytes && rssPerVu.peakRssPerVuBytes
      ? `; workers' RSS peaked at ${(rssPerVu.peakRssBytes / 2 ** 20).toFixed(0)} MiB (${kib(rssPerVu.peakRssPerVuBytes)} per VU all-in)`
      : '';
  const coordinator = rssPerVu?.coordinatorPeakRssBytes ? `, the coordinator's at ${(rssPerVu.coordinatorPeakRssBytes / 2 ** 20).toFixed(0)} MiB` : '';
  return `${figure}${collected}${peak}${coordinator}`;
}
