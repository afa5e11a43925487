import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { readdirSync } from 'node:fs';
import type { GeneratorHealth } from './names.js';

/** Samples the generator's own health so a run can tell when imload itself was the bottleneck. */
export class HealthSampler {
  private readonly loop: IntervalHistogram;
  private lastCpu = process.cpuUsage();
  private lastAt = performance.now();
  private readonly baselineRss = process.memoryUsage().rss;

  constructor(private readonly worker: number) {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
  }

  sample(vus: number): GeneratorHealth {
    const now = performance.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const elapsedMs = Math.max(1, now - this.lastAt);
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const memory = process.memoryUsage();
    const health: GeneratorHealth = {
      worker: this.worker,
      eventLoopP99: round(this.loop.percentile(99) / 1e6),
      eventLoopMax: round(this.loop.max / 1e6),
      cpuPercent: round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100),
      rssBytes: memory.rss,
      baselineRssBytes: this.baselineRss,
      heapUsedBytes: memory.heapUsed,
      openFds: countOpenFds(),
      vus,
    };
    this.loop.reset();
    return health;
  }

  stop(): void {
    this.loop.disable();
  }
}

function countOpenFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
