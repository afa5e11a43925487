/**
 * Measurement helpers shared by the SIP benchmarks: CPU seconds of a process (and of a
 * process group, for Kamailio's workers) from /proc/<pid>/stat, and Kamailio's shared memory
 * over its ctl socket. Linux only, like the lab.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcStat {
  readonly pgrp: number;
  /** utime + stime in seconds: CPU spent by the process itself, not its children. */
  readonly cpuSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; everything after its ')' is space-separated.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
    return { pgrp: Number(fields[2]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** CPU seconds one process has used so far; undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  return readStat(pid)?.cpuSeconds;
}

/** CPU seconds of every live process in a process group (Kamailio's main process and workers). */
export function groupCpuSeconds(pgid: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.pgrp === pgid) total += stat.cpuSeconds;
  }
  return total;
}

/**
 * Follows a process's CPU while it runs: a sample every `intervalMs`, so the last one is at
 * most that old when the process exits and /proc/<pid> disappears.
 */
export class CpuFollower {
  private first: number | undefined;
  private last: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const value = processCpuSeconds(this.pid);
    if (value === undefined) return;
    this.first ??= value;
    this.last = value;
  }

  /** CPU seconds from the first sample to the last; stops sampling. */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return (this.last ?? 0) - (this.first ?? 0);
  }
}

/**
 * Kamailio's shared memory in MiB (`kamcmd core.shmmem m`): used now, the high-water mark and
 * the -m size. Asked in MiB because the byte figures are printed as 32-bit integers and wrap
 * above 4 GiB.
 */
export function kamailioShm(ctl: string): { readonly usedMiB: number; readonly maxUsedMiB: number; readonly totalMiB: number } | undefined {
  try {
    const out = execFileSync('kamcmd', ['-s', ctl, 'core.shmmem', 'm'], { encoding: 'utf8', timeout: 5000 });
    const field = (name: string): number => Number(new RegExp(`\\b${name}:\\s*(\\d+)`).exec(out)?.[1] ?? NaN);
    return { usedMiB: field('real_used'), maxUsedMiB: field('max_used'), totalMiB: field('total') };
  } catch {
    return undefined;
  }
}

/** The kernel's UDP receive-buffer overflow counter (RcvbufErrors in /proc/net/snmp): drops by a full socket. */
export function udpReceiveBufferErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')]);
}
