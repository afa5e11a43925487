import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { readdirSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { GeneratorHealth, RampCollection } from './names.js';
import { UdpSocketDrops } from './udp-drops.js';

/** Samples the generator's own health so a run can tell when imload itself was the bottleneck. */
export class HealthSampler {
  private readonly loop: IntervalHistogram;
  private lastCpu = process.cpuUsage();
  private lastAt = performance.now();
  /** The ramp's-end collection, reported in the next sample only. */
  private collection: RampCollection | undefined;
  private readonly udpDrops = UdpSocketDrops.ofThisProcess();

  /** `baselineRss`: RSS before the worker made anything per user (docs/metrics.md § Generator health). */
  constructor(
    private readonly worker: number,
    private readonly baselineRss = process.memoryUsage.rss(),
  ) {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
  }

  /**
   * `dueEveryMs`: the sampling period, when the sample is its timer's (the worker's second tick):
   * the timer's own lateness is then a stall too. A stopped, swapped-out or paused process runs no
   * timer at all, so monitorEventLoopDelay records nothing of the stall (measured: a worker stopped
   * for 6 s showed a max of 10.5 ms); the sampler, waking 6 s late, does.
   */
  sample(vus: number, dueEveryMs?: number): GeneratorHealth {
    const now = performance.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const elapsedMs = Math.max(1, now - this.lastAt);
    const late = dueEveryMs === undefined ? 0 : Math.max(0, elapsedMs - dueEveryMs);
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const memory = process.memoryUsage();
    const udpReceiveDrops = this.udpDrops.sample();
    const health: GeneratorHealth = {
      worker: this.worker,
      eventLoopP99: round(this.loop.percentile(99) / 1e6),
      eventLoopMax: round(Math.max(this.loop.max / 1e6, late)),
      cpuPercent: round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100),
      rssBytes: memory.rss,
      baselineRssBytes: this.baselineRss,
      heapUsedBytes: memory.heapUsed,
      openFds: countOpenFds(),
      vus,
      ...(udpReceiveDrops > 0 ? { udpReceiveDrops } : {}),
      ...(this.collection ? { rampCollection: this.collection } : {}),
    };
    this.collection = undefined;
    this.loop.reset();
    return health;
  }

  /**
   * A full garbage collection, once at the ramp's end: what the logon burst left behind is
   * collected, so RSS over the hold is what the users hold, not how far V8 had got with the
   * ramp's garbage (docs/metrics.md § Generator health). Needs `--expose-gc` (the worker pool
   * starts workers with it); without it nothing runs and no collection is reported.
   */
  collectRampGarbage(): void {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (typeof gc !== 'function') return;
    const rssBeforeBytes = process.memoryUsage.rss();
    const start = performance.now();
    compactingCollection(gc);
    const pauseMs = round(performance.now() - start);
    this.collection = { pauseMs, rssBeforeBytes, rssAfterBytes: process.memoryUsage.rss() };
  }

  stop(): void {
    this.loop.disable();
  }
}

const COMPACTION_FLAG = /^--(no-)?compact[-_]on[-_]every[-_]full[-_]gc\b/;

/**
 * Runs `gc` (a full collection) compacting its old space, then leaves compaction to V8 again;
 * a worker started with its own choice of `--compact-on-every-full-gc` (IMLOAD_WORKER_NODE_FLAGS)
 * keeps it. A plain full collection frees the logon burst's garbage but keeps the pages it was
 * spread over until V8's memory reducer compacts, 10–90 s later: measured on a worker-sized heap
 * (46 MiB live after a ~135 MiB burst), 73–85 MiB of old space stayed committed against 47
 * compacted, and in a one-hour soak each worker's RSS sat 12–24 MiB high for the hold's first two
 * minutes. It costs one longer pause, once a run (docs/decisions.md). V8 reads the flag at each
 * collection, so setting it while the process runs takes effect at once.
 */
function compactingCollection(gc: () => void): void {
  if (process.execArgv.some((flag) => COMPACTION_FLAG.test(flag))) return gc();
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

/**
 * The process's open descriptors. Linux 6.2 and later give their count as the size of
 * /proc/self/fd, read without listing it: listing made a string per descriptor every second
 * (10,000 a second in a worker holding 10,000 IRC users), the most a quiet hold allocated
 * (a sampling heap profile of a worker's hold, bench/RESULTS.md). Older kernels report 0 there;
 * then the directory is listed, less the descriptor the listing itself holds open.
 */
function countOpenFds(): number {
  try {
    const counted = statSync('/proc/self/fd').size;
    return counted > 0 ? counted : readdirSync('/proc/self/fd').length - 1;
  } catch {
    return -1;
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
