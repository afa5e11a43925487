/**
 * Shared by the RVP capacity benchmarks (rvp-home-10k.ts, rvp-router-50k.ts): starts the lab
 * servers itself (so it knows their PIDs), samples each server process's CPU and RSS from
 * /proc while `imload run` drives a scenario of scenarios.yaml against them, and prints the
 * figures. Not a test: it asserts nothing, it measures.
 */
import { readFileSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../src/commands/run.js';
import { startRvpLab, type RvpLabOptions } from '../src/protocols/rvp/lab.js';
import type { LabServer } from '../src/lab/types.js';

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux
const SAMPLE_MS = 5000;

interface ProcessSample {
  readonly at: number;
  /** utime + stime, seconds. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

/** CPU time and resident memory of one process, from /proc/<pid>/stat and /proc/<pid>/status. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    return { at: Date.now(), cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

/** Per server: samples over the run; peak RSS and busiest-interval CPU come from them. */
class ServerSampler {
  private readonly samples = new Map<string, ProcessSample[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly servers: readonly LabServer[]) {}

  start(): void {
    this.take();
    this.timer = setInterval(() => this.take(), SAMPLE_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.take();
  }

  report(): string[] {
    const lines: string[] = [];
    for (const server of this.servers) {
      const samples = this.samples.get(server.name) ?? [];
      if (samples.length < 2) continue;
      const first = samples[0]!;
      const last = samples.at(-1)!;
      let peakCpu = 0;
      for (let i = 1; i < samples.length; i++) {
        const a = samples[i - 1]!;
        const b = samples[i]!;
        peakCpu = Math.max(peakCpu, (b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000));
      }
      const meanCpu = (last.cpuSeconds - first.cpuSeconds) / ((last.at - first.at) / 1000);
      const peakRss = Math.max(...samples.map((s) => s.rssBytes));
      lines.push(
        `${server.name} (pid ${server.pid}): CPU ${last.cpuSeconds.toFixed(1)} s total, mean ${(meanCpu * 100).toFixed(0)} % of a core, ` +
          `busiest ${SAMPLE_MS / 1000} s ${(peakCpu * 100).toFixed(0)} %; RSS peak ${(peakRss / 2 ** 20).toFixed(0)} MiB, end ${(last.rssBytes / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    return lines;
  }

  private take(): void {
    for (const server of this.servers) {
      const sample = sampleProcess(server.pid);
      if (sample === undefined) continue;
      const list = this.samples.get(server.name) ?? [];
      list.push(sample);
      this.samples.set(server.name, list);
    }
  }
}

export interface CapacityBench {
  readonly scenario: string;
  readonly users?: number;
  readonly duration?: string;
  readonly lab: RvpLabOptions;
  /** Target in scenarios.yaml that the scenario names; pointed at the lab started here. */
  readonly target: string;
}

export async function runCapacityBench(bench: CapacityBench): Promise<void> {
  const file = join(import.meta.dirname, '..', 'scenarios.yaml');
  const lab = await startRvpLab({ ...bench.lab, firstNumber: 1 });
  const sampler = new ServerSampler(lab.all);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} GiB free), node ${process.version}`);
  console.log(`lab: ${lab.all.map((s) => `${s.name} ${s.host}:${s.port} pid ${s.pid}`).join(', ')}`);
  const started = Date.now();
  sampler.start();
  try {
    const { result, runDir } = await runCommand({
      file,
      scenario: bench.scenario,
      users: bench.users,
      duration: bench.duration,
      targets: [`${bench.target}=rvp://${lab.entry.host}:${lab.entry.port}`],
      quiet: true,
      signal: controller.signal,
    });
    sampler.stop();
    const s = result.summary;
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    console.log(`run: ${runDir} (${s.end.reason} after ${((Date.now() - started) / 1000).toFixed(0)} s wall)`);
    console.log(`users: requested ${s.users.requested}, peak online ${s.users.peakOnline}, logons ok ${s.users.logonOk}, failed ${s.users.logonFailures}, disconnects ${s.users.disconnects}`);
    console.log(`logon: p50 ${ms(s.latency.logon.p50)} p95 ${ms(s.latency.logon.p95)} p99 ${ms(s.latency.logon.p99)} max ${ms(s.latency.logon.max)}`);
    console.log(`delivery: p50 ${ms(s.latency.delivery.p50)} p99 ${ms(s.latency.delivery.p99)} max ${ms(s.latency.delivery.max)} (n=${s.latency.delivery.count})`);
    console.log(`presence: p95 ${ms(s.latency.presence.p95)} p99 ${ms(s.latency.presence.p99)}; expected ${s.presence.expected}, seen ${s.presence.seen}`);
    console.log(`messages: sent ${s.messages.sent}, expected ${s.messages.expected}, delivered ${s.messages.delivered}, lost ${s.messages.lost}, duplicates ${s.messages.duplicates}, offline ${s.messages.undeliverable}`);
    console.log(`errors: ${s.errors.total} ${JSON.stringify(s.errors.byKind)}`);
    console.log(`crosscheck: imload ${s.crossCheck?.imloadOnline ?? '-'}, server ${s.crossCheck?.serverOnline ?? '-'}`);
    console.log(`generator: ${JSON.stringify(s.generator)}`);
    console.log(`bandwidth: ${s.bandwidth.kbpsPerUser.toFixed(3)} kbit/s per online user (${s.bandwidth.window})`);
    for (const line of sampler.report()) console.log(`server ${line}`);
  } finally {
    sampler.stop();
    await lab.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
