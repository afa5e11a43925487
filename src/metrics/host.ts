/**
 * The host beside the generator: the whole machine's CPU (/proc/stat), the coordinator's own CPU
 * and memory (this process: it merges the workers' seconds and writes the journal) and, when the lab started
 * the server, the server's CPU and memory summed over its process tree (/proc/<pid>/stat and
 * /status), and the datagrams the kernel dropped on its UDP sockets. Sampled once a second by the coordinator, so a verdict can tell a server that gave out
 * from a host that ran out of CPU under the server and the workers together (docs/metrics.md
 * § Saturation).
 *
 * Both CPU figures are shares of the same /proc/stat tick count, so no clock-tick constant
 * (USER_HZ) is needed: a process's ticks over the host's total ticks, times the cores, is the
 * process's share of one core.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { HostSecond, ServerSecond } from './journal.js';
import { UdpSocketDrops } from './udp-drops.js';

interface CpuTicks {
  readonly busy: number;
  readonly total: number;
}

/** The aggregate `cpu` line of /proc/stat: busy is everything but idle and iowait. */
export function parseProcStat(text: string): { ticks: CpuTicks; cores: number } | null {
  const lines = text.split('\n');
  const all = lines.find((l) => l.startsWith('cpu '));
  if (!all) return null;
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice).
  const fields = all.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((f) => !Number.isFinite(f))) return null;
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3]! + (fields[4] ?? 0);
  const cores = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { ticks: { busy: total - idle, total }, cores: Math.max(1, cores) };
}

/** pid, parent pid and utime+stime ticks from /proc/<pid>/stat (the name may hold spaces and parentheses). */
export function parsePidStat(text: string): { pid: number; ppid: number; ticks: number } | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // After "pid (comm) ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  const rest = text.slice(close + 2).split(' ');
  const ppid = Number(rest[1]);
  const ticks = Number(rest[11]) + Number(rest[12]);
  return Number.isFinite(pid) && Number.isFinite(ppid) && Number.isFinite(ticks) ? { pid, ppid, ticks } : null;
}

/** VmRSS of /proc/<pid>/status, bytes (absent for a kernel thread or a zombie). */
export function parseStatusRss(text: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Every process on the host, by pid: its parent and CPU ticks so far. */
function processTable(): Map<number, { ppid: number; ticks: number }> {
  const table = new Map<number, { ppid: number; ticks: number }>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const text = readText(`/proc/${name}/stat`);
    const stat = text && parsePidStat(text);
    if (stat) table.set(stat.pid, { ppid: stat.ppid, ticks: stat.ticks });
  }
  return table;
}

/** The roots and all their descendants present in the table (a forking server's whole tree). */
export function processTree(roots: readonly number[], table: ReadonlyMap<number, { ppid: number }>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(pid);
  const seen = new Set<number>();
  const stack = roots.filter((pid) => table.has(pid));
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

/**
 * How many samples (seconds) the server's process tree is kept between reads of the whole process
 * table. Why: reading every /proc/<pid>/stat of the host each second was two thirds of what the
 * coordinator promoted to its old space in a soak (a sampling heap profile over three minutes,
 * with 73 processes on the host; a capacity engineer's host has hundreds), while a server's tree
 * changes only when it forks or a process exits. Between reads only the tree's own stat files are
 * read; a process of the tree gone, or other roots (a restarted server), read the table at once.
 */
export const SERVER_TREE_REREAD_SAMPLES = 10;

/**
 * Each process's CPU ticks now; undefined when the tree is no longer what was read (the table must
 * be read again): a process gone, or one whose parent is no longer in the tree — reparented when
 * its parent died, or its pid reused by a process that is not the server's.
 */
function ticksOf(tree: readonly number[], roots: readonly number[]): Map<number, number> | undefined {
  const ticks = new Map<number, number>();
  for (const pid of tree) {
    const stat = parsePidStat(readText(`/proc/${pid}/stat`) ?? '');
    if (stat === null || (!roots.includes(pid) && !tree.includes(stat.ppid))) return undefined;
    ticks.set(pid, stat.ticks);
  }
  return ticks;
}

export class HostSampler {
  private lastHost: CpuTicks | null = null;
  /** This process's (the coordinator's) CPU ticks at the previous sample. */
  private lastOwnTicks: number | null = null;
  private lastServer = new Map<number, number>();
  /** The server's process tree as last read: whose UDP sockets' drops are the server's. */
  private serverTree: readonly number[] = [];
  /** The roots the tree was read from, and the samples since the whole table was read. */
  private treeRoots = '';
  private samplesSinceTreeRead = 0;
  private readonly serverDrops = UdpSocketDrops.ofProcesses(() => this.serverTree);

  /** `serverPids` names the lab server's processes now (a restarted server has a new pid). */
  constructor(private readonly serverPids?: () => readonly number[]) {
    this.sample();
  }

  /** Since the previous call; null for a figure this host cannot give (no /proc). */
  sample(): { host?: HostSecond; server?: ServerSecond } {
    const stat = readText('/proc/stat');
    const parsed = stat ? parseProcStat(stat) : null;
    if (!parsed) return {};
    const previous = this.lastHost;
    this.lastHost = parsed.ticks;
    const elapsed = previous ? parsed.ticks.total - previous.total : 0;
    const ownTicks = parsePidStat(readText('/proc/self/stat') ?? '')?.ticks ?? null;
    const lastOwnTicks = this.lastOwnTicks;
    this.lastOwnTicks = ownTicks;
    if (!previous || elapsed <= 0) {
      this.readServer(0, parsed.cores);
      return {};
    }
    const host: HostSecond = {
      cpuPercent: round((100 * (parsed.ticks.busy - previous.busy)) / elapsed),
      cores: parsed.cores,
      coordinatorRssBytes: process.memoryUsage.rss(),
      ...(ownTicks !== null && lastOwnTicks !== null ? { coordinatorCpuPercent: round((100 * parsed.cores * (ownTicks - lastOwnTicks)) / elapsed) } : {}),
    };
    const server = this.readServer(elapsed, parsed.cores);
    return server ? { host, server } : { host };
  }

  private readServer(elapsedTicks: number, cores: number): ServerSecond | undefined {
    const roots = this.serverPids?.() ?? [];
    if (roots.length === 0) return undefined;
    const { tree, now } = this.readTree(roots);
    // A process first seen now started since the tree was last read: all its ticks are this second's.
    const used = tree.reduce((sum, pid) => sum + now.get(pid)! - (this.lastServer.get(pid) ?? 0), 0);
    this.lastServer = now;
    this.serverTree = tree;
    const udpReceiveDrops = this.serverDrops.sample();
    if (elapsedTicks <= 0 || tree.length === 0) return undefined;
    const rssBytes = tree.reduce((sum, pid) => sum + parseStatusRss(readText(`/proc/${pid}/status`) ?? ''), 0);
    return { cpuPercent: round((100 * cores * Math.max(0, used)) / elapsedTicks), rssBytes, processes: tree.length, udpReceiveDrops };
  }

  /** The server's process tree and each process's ticks: the last tree's own files, or the whole table when due. */
  private readTree(roots: readonly number[]): { tree: readonly number[]; now: Map<number, number> } {
    const key = roots.join(',');
    if (key === this.treeRoots && ++this.samplesSinceTreeRead < SERVER_TREE_REREAD_SAMPLES) {
      const now = this.serverTree.length > 0 ? ticksOf(this.serverTree, roots) : undefined;
      if (now !== undefined) return { tree: this.serverTree, now };
    }
    const table = processTable();
    const tree = processTree(roots, table);
    this.treeRoots = key;
    this.samplesSinceTreeRead = 0;
    return { tree, now: new Map(tree.map((pid) => [pid, table.get(pid)!.ticks])) };
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
