/**
 * Several load-generator hosts on one machine: a network namespace for the server and one per
 * generator segment, joined by veth pairs to a bridge in the server's namespace. Their addresses
 * are in one private /24 that exists only inside these namespaces: nothing is attached to the
 * host's own namespace and there is no default route, so no packet can leave them. A generator's
 * link can be shaped with tbf (a branch office's 56 or 128 kbit/s WAN link; this kernel has no
 * netem). Needs root (CAP_NET_ADMIN). Every namespace is named `imload-<tag>-...` and deleted by
 * `teardown()`, which also runs when the process exits with namespaces still up.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { LAB_KINDS, labServerOf, requireDescriptor } from '../protocols/registry.js';
import { loadScenarioFile } from '../scenarios/load.js';
import { parseTargetUrl } from '../scenarios/target.js';
import { startLabFor } from './index.js';
import { entryPoint } from '../runtime.js';
import { EXIT } from '../exit-codes.js';
import { StartGate } from '../engine/start-gate.js';
import type { LabContext } from './types.js';

const IP_TIMEOUT_MS = 10_000;
const IMLOAD_BIN = fileURLToPath(new URL('../../bin/imload.js', import.meta.url));

export interface GeneratorHost {
  readonly ns: string;
  readonly address: string;
  /** The generator's end of its link, inside `ns`. */
  readonly device: string;
  /** The server's end of the same link, inside the server namespace (on the bridge). */
  readonly peer: string;
}

export interface NetnsTopology {
  readonly tag: string;
  /** The /24 inside the namespaces, e.g. 10.213.77.0/24. */
  readonly subnet: string;
  readonly server: { readonly ns: string; readonly address: string };
  readonly generators: readonly GeneratorHost[];
  /** Deletes every namespace (and so every link and bridge in them). Idempotent. */
  teardown(): void;
}

export class NetnsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetnsError';
  }
}

function ip(args: readonly string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: IP_TIMEOUT_MS });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new NetnsError(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

/** Runs a command inside a namespace (synchronously, bounded). */
export function inNamespace(ns: string, command: string, args: readonly string[]): string {
  try {
    return execFileSync('ip', ['netns', 'exec', ns, command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: IP_TIMEOUT_MS });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new NetnsError(`ip netns exec ${ns} ${command} ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

/**
 * Creates the server namespace and `generators` generator namespaces. The server is `.1`,
 * generator i (0-based) is `.(10 + i)`. The tag keeps concurrent topologies apart (default:
 * this process's id); the /24 may be the same for all of them since each set is isolated.
 */
export function createTopology(options: { generators: number; tag?: string; subnet?: string }): NetnsTopology {
  const count = options.generators;
  if (!Number.isInteger(count) || count < 1 || count > 200) throw new NetnsError(`generators: 1 to 200 (got ${count})`);
  const tag = options.tag ?? process.pid.toString(36);
  const prefix = options.subnet ?? '10.213.77';
  const serverNs = `imload-${tag}-srv`;
  const generators: GeneratorHost[] = Array.from({ length: count }, (_, i) => ({
    ns: `imload-${tag}-gen${i + 1}`,
    address: `${prefix}.${10 + i}`,
    device: 'veth0',
    peer: `gen${i + 1}`,
  }));
  const created: string[] = [];
  const teardown = () => {
    process.off('exit', teardown);
    for (const ns of created.splice(0).reverse()) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // Already gone: deleting is all teardown has to achieve.
      }
    }
  };
  process.on('exit', teardown);
  try {
    ip(['netns', 'add', serverNs]);
    created.push(serverNs);
    withoutIpv6(serverNs);
    ip(['-n', serverNs, 'link', 'set', 'lo', 'up']);
    ip(['-n', serverNs, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', serverNs, 'addr', 'add', `${prefix}.1/24`, 'dev', 'br0']);
    ip(['-n', serverNs, 'link', 'set', 'br0', 'up']);
    for (const g of generators) {
      ip(['netns', 'add', g.ns]);
      created.push(g.ns);
      withoutIpv6(g.ns);
      ip(['-n', g.ns, 'link', 'set', 'lo', 'up']);
      // Both ends are created directly inside their namespaces: the host's namespace never sees them.
      ip(['-n', serverNs, 'link', 'add', g.peer, 'type', 'veth', 'peer', 'name', g.device, 'netns', g.ns]);
      ip(['-n', serverNs, 'link', 'set', g.peer, 'master', 'br0', 'up']);
      ip(['-n', g.ns, 'addr', 'add', `${g.address}/24`, 'dev', g.device]);
      ip(['-n', g.ns, 'link', 'set', g.device, 'up']);
    }
  } catch (error) {
    teardown();
    throw error;
  }
  return { tag, subnet: `${prefix}.0/24`, server: { ns: serverNs, address: `${prefix}.1` }, generators, teardown };
}

/**
 * IPv6 off before any link exists: the links carry IPv4 only, so their counters hold the run's
 * TCP traffic and ARP, not router solicitations and multicast listener reports.
 */
function withoutIpv6(ns: string): void {
  for (const scope of ['all', 'default']) inNamespace(ns, 'sysctl', ['-q', '-w', `net.ipv6.conf.${scope}.disable_ipv6=1`]);
}

/** `56kbit`, `128kbit`, `2mbit` → bits per second. */
export function parseLinkRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(kbit|mbit)$/.exec(text.trim().toLowerCase());
  if (!match) throw new NetnsError(`link rate: expected like 56kbit or 2mbit (got "${text}")`);
  return Math.round(Number(match[1]) * (match[2] === 'kbit' ? 1000 : 1_000_000));
}

/**
 * Token-bucket burst: one full-size frame (1514 bytes) must fit, or tbf drops it; a little more
 * keeps the excess over the rate in any second below ~10 % at 128 kbit/s.
 */
export const LINK_BURST_BYTES = 1600;

/**
 * Shapes a generator's link to `bitsPerSecond` in both directions: tbf on the generator's end
 * (upload) and on the server's end of the same veth (download). `latency` bounds the queue the
 * way a WAN router's buffer does: beyond it packets are dropped and TCP backs off.
 */
export function shapeLink(topology: NetnsTopology, generator: GeneratorHost, bitsPerSecond: number, queueLatencyMs = 500): void {
  // handle 1: so countPortsOnLink can put its classes inside.
  // A faster link needs a bucket of at least one kernel tick's worth of bytes (at HZ ≥ 100), or
  // tbf cannot reach its rate.
  const burst = Math.max(LINK_BURST_BYTES, Math.ceil(bitsPerSecond / 8 / 100));
  const tbf = ['rate', `${bitsPerSecond}bit`, 'burst', String(burst), 'latency', `${queueLatencyMs}ms`];
  inNamespace(generator.ns, 'tc', ['qdisc', 'replace', 'dev', generator.device, 'root', 'handle', '1:', 'tbf', ...tbf]);
  inNamespace(topology.server.ns, 'tc', ['qdisc', 'replace', 'dev', generator.peer, 'root', 'handle', '1:', 'tbf', ...tbf]);
}

/**
 * Counts some ports' traffic on a shaped link apart from the rest and from each other (both ends,
 * either direction; TCP or UDP, whose ports sit at the same offset): an htb inside each end's tbf
 * sorts the packets of `ports[i]` into class 10:(i+1), the rest into the class after them, and
 * htb counts each class's bytes. The kernel here has no tc actions (which could count a filter's
 * matches), but htb classes count. The htb's rate is four times the link's, so tbf alone shapes;
 * the queue becomes htb's leaf fifo (txqueuelen packets) instead of tbf's latency-bounded one.
 */
export function countPortsOnLink(topology: NetnsTopology, generator: GeneratorHost, ports: readonly number[], bitsPerSecond: number): void {
  const rate = `${bitsPerSecond * 4}bit`;
  const burst = String(Math.max(LINK_BURST_BYTES, Math.ceil((bitsPerSecond * 4) / 8 / 100)));
  const rest = String(ports.length + 1);
  for (const [ns, device] of [[generator.ns, generator.device], [topology.server.ns, generator.peer]] as const) {
    inNamespace(ns, 'tc', ['qdisc', 'add', 'dev', device, 'parent', '1:1', 'handle', '10:', 'htb', 'default', rest, 'r2q', '1000']);
    for (let minor = 1; minor <= ports.length + 1; minor++) inNamespace(ns, 'tc', ['class', 'add', 'dev', device, 'parent', '10:', 'classid', `10:${minor}`, 'htb', 'rate', rate, 'burst', burst]);
    ports.forEach((port, i) => {
      for (const end of ['sport', 'dport']) inNamespace(ns, 'tc', ['filter', 'add', 'dev', device, 'parent', '10:', 'protocol', 'ip', 'u32', 'match', 'ip', end, String(port), '0xffff', 'flowid', `10:${i + 1}`]);
    });
  }
}

/** What countPortsOnLink counted so far for `ports[index]`: its wire bytes and packets, up = from the site's end. */
export function linkPortCounters(topology: NetnsTopology, generator: GeneratorHost, index: number): { up: LinkDirection; down: LinkDirection } {
  const classid = `10:${index + 1}`;
  const sent = (ns: string, device: string): LinkDirection => {
    // This tc prints classes as text even with -j: "class htb 10:1 … Sent B bytes P pkt".
    const text = inNamespace(ns, 'tc', ['-s', 'class', 'show', 'dev', device, 'classid', classid]);
    const match = /Sent (\d+) bytes (\d+) pkt/.exec(text);
    if (!match) throw new NetnsError(`no port counter on ${device} in ${ns}: ${text.trim() || `no class ${classid}`}`);
    return { bytes: Number(match[1]), packets: Number(match[2]) };
  };
  return { up: sent(generator.ns, generator.device), down: sent(topology.server.ns, generator.peer) };
}

/**
 * Bytes that crossed a generator's link so far, from the kernel's counters on the generator's
 * end: wire bytes (Ethernet, IP and TCP headers included), up = sent towards the server.
 */
export function linkBytes(generator: GeneratorHost): { up: number; down: number } {
  const { up, down } = linkCounters(generator);
  return { up: up.bytes, down: down.bytes };
}

export interface LinkDirection {
  /** Wire bytes: Ethernet frames without the frame check sequence. */
  readonly bytes: number;
  readonly packets: number;
}

/** A generator link's kernel counters, both directions (up = sent towards the server namespace). */
export function linkCounters(generator: GeneratorHost): { up: LinkDirection; down: LinkDirection } {
  const [link] = JSON.parse(inNamespace(generator.ns, 'ip', ['-j', '-s', 'link', 'show', 'dev', generator.device])) as Array<{
    stats64: { rx: LinkDirection; tx: LinkDirection };
  }>;
  if (!link) throw new NetnsError(`no link ${generator.device} in ${generator.ns}`);
  return { up: { bytes: link.stats64.tx.bytes, packets: link.stats64.tx.packets }, down: { bytes: link.stats64.rx.bytes, packets: link.stats64.rx.packets } };
}

/** Packets the link's shapers dropped so far, both ends (TCP resent them: the counters include the resends). */
export function linkDrops(topology: NetnsTopology, generator: GeneratorHost): number {
  const drops = (ns: string, device: string) =>
    (JSON.parse(inNamespace(ns, 'tc', ['-s', '-j', 'qdisc', 'show', 'dev', device])) as Array<{ root?: boolean; drops?: number }>).filter((q) => q.root).reduce((sum, q) => sum + (q.drops ?? 0), 0);
  return drops(generator.ns, generator.device) + drops(topology.server.ns, generator.peer);
}

export interface NamespacedServer {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts a lab server (`kind`, e.g. the target's `lab:`) inside the server namespace, bound to
 * its address and admitting the namespace subnet, on `port` (default: the protocol's plain
 * port; the namespace has its own ports). This process stays in the host's namespace, so a helper
 * (this module, run as a script under `ip netns exec`) starts the server there and stops it when
 * its stdin closes.
 */
export async function startLabInNamespace(topology: NetnsTopology, kind: string, port?: number, timeoutMs = 30_000): Promise<NamespacedServer> {
  const server = labServerOf(kind);
  if (!server) throw new NetnsError(`unknown lab server "${kind}" (known: ${LAB_KINDS.join(', ')})`);
  const listenPort = port ?? server.protocol.schemes.find((s) => !s.tls)?.defaultPort ?? 0;
  return startLabIn(topology.server.ns, kind, { host: topology.server.address, port: listenPort, allow: topology.subnet }, timeoutMs);
}

/**
 * Starts a lab server of `kind` in any namespace of a topology with the given context (its
 * address and port there, users, a deployment role). The context travels on the helper's
 * command line, so it may hold no password.
 */
export async function startLabIn(ns: string, kind: string, context: Omit<LabContext, 'password'>, timeoutMs = 30_000): Promise<NamespacedServer> {
  const server = labServerOf(kind);
  if (!server) throw new NetnsError(`unknown lab server "${kind}" (known: ${LAB_KINDS.join(', ')})`);
  const helper = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, ...entryPoint(import.meta.url).execArgv, entryPoint(import.meta.url).file, 'serve-lab', kind, JSON.stringify(context)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const stop = () => stopHelper(helper);
  const firstLine = new Promise<string>((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new NetnsError(`${server.title} in ${ns} not ready within ${timeoutMs} ms`)), timeoutMs);
    createInterface({ input: helper.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolveLine(line);
    });
    helper.once('exit', (code) => {
      clearTimeout(timer);
      reject(new NetnsError(`the ${server.title} helper in ${ns} exited (${code}) before it was ready`));
    });
  });
  try {
    const ready = JSON.parse(await firstLine) as { url: string };
    return { url: ready.url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function stopHelper(helper: ChildProcess, graceMs = 10_000): Promise<void> {
  if (helper.exitCode !== null || helper.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => helper.kill('SIGKILL'), graceMs);
    helper.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    helper.stdin?.end();
  });
}

export interface SegmentRun {
  readonly segment: string;
  readonly runDir: string;
  readonly exitCode: number | null;
}

/**
 * Runs segment i/N of a scenario in generator namespace i, all at once, each a separate
 * `imload run` process as on separate hosts. Exit 99 (a threshold failed) is a completed run: a
 * segment alone misses receipts that other segments hold, so only the merged run is judged.
 */
export async function runSegmentsInNamespaces(
  topology: NetnsTopology,
  options: { file: string; scenario: string; target: string; url: string; outDir: string; extraArgs?: readonly string[]; timeoutMs?: number },
): Promise<SegmentRun[]> {
  const count = topology.generators.length;
  return runSegmentsIn(topology.generators.map((g, i) => ({ ns: g.ns, segment: i + 1, runDir: resolve(options.outDir, `seg${i + 1}`) })), count, options);
}

/** How long runs started together get to be ready before their gate opens without the late ones. */
const START_GATE_OPEN_TIMEOUT_MS = 120_000;

/**
 * Runs segments of a scenario, each in the namespace given, all at once (`of` segments in all)
 * on one clock: each run waits at a start gate (engine/start-gate.ts) once its workers are ready,
 * and the gate opens when all are, so nobody guesses how long nine runs take to load on two
 * cores. `gate`: a gate shared with other runs, which the caller opens; without it these runs get
 * their own. Throws when one did not complete (exit other than 0 or 99).
 */
export async function runSegmentsIn(
  parts: readonly { readonly ns: string; readonly segment: number; readonly runDir: string }[],
  of: number,
  options: { file: string; scenario: string; target: string; url: string; extraArgs?: readonly string[]; timeoutMs?: number; gate?: StartGate },
): Promise<SegmentRun[]> {
  const gate = options.gate;
  if (gate === undefined) return runTogether((own) => runSegmentsIn(parts, of, { ...options, gate: own }));
  gate.expect(parts.length);
  const runs = parts.map(({ ns, segment: i, runDir }) => {
    const segment = `${i}/${of}`;
    const args = ['netns', 'exec', ns, process.execPath, IMLOAD_BIN, 'run', options.file, '-s', options.scenario, '--target', `${options.target}=${options.url}`, '--segment', segment, '--start-gate', gate.dir, '--allow-remote', '--out', runDir, '-q', ...(options.extraArgs ?? [])];
    return new Promise<SegmentRun>((done) => {
      // `ip netns exec` execs the run in place: the child's pid is the run's, which names its ready file.
      const child = spawn('ip', args, { stdio: ['ignore', 'inherit', 'inherit'] });
      const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs ?? 600_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        gate.ended(child.pid);
        done({ segment, runDir, exitCode: code });
      });
    });
  });
  const results = await Promise.all(runs);
  const failed = results.filter((r) => r.exitCode !== 0 && r.exitCode !== EXIT.thresholdsFailed);
  if (failed.length > 0) throw new NetnsError(`segment run failed: ${failed.map((r) => `${r.segment} exited ${r.exitCode}`).join(', ')}`);
  return results;
}

/**
 * Runs started together through one gate, opened once every one of them is ready: `start` calls
 * runSegmentsIn with the gate for each group of runs (the plan lab's products at every site).
 */
export async function runTogether<T>(start: (gate: StartGate) => Promise<T>): Promise<T> {
  const gate = new StartGate();
  try {
    const running = start(gate);
    // A rejection while the gate is still being opened is taken below, not left unhandled.
    running.catch(() => undefined);
    await gate.openWhenReady({ timeoutMs: START_GATE_OPEN_TIMEOUT_MS });
    return await running;
  } finally {
    gate.remove();
  }
}

export interface BranchOfficeRun {
  readonly runDir: string;
  readonly exitCode: number | null;
  readonly linkBitsPerSecond: number;
  /** Wire bytes over the link during the run (headers included), both directions. */
  readonly wireBytes: number;
}

/**
 * A branch office: the scenario's whole population in one generator namespace behind a link
 * shaped to `link` (e.g. 56kbit), against a lab server in the server namespace. Every
 * namespace is deleted before this returns or throws.
 */
export async function runBranchOffice(options: {
  file: string;
  scenario: string;
  target: string;
  link: string;
  outDir: string;
  /** The lab server in the server namespace (default: the target's `lab:`, else its protocol's first lab server). */
  lab?: string;
  extraArgs?: readonly string[];
  timeoutMs?: number;
}): Promise<BranchOfficeRun> {
  const linkBitsPerSecond = parseLinkRate(options.link);
  const topology = createTopology({ generators: 1 });
  try {
    const branch = topology.generators[0]!;
    shapeLink(topology, branch, linkBitsPerSecond);
    const server = await startLabInNamespace(topology, options.lab ?? labKindOfTarget(options.file, options.target));
    try {
      const before = linkBytes(branch);
      const [run] = await runSegmentsInNamespaces(topology, { ...options, url: server.url });
      const after = linkBytes(branch);
      return { runDir: run!.runDir, exitCode: run!.exitCode, linkBitsPerSecond, wireBytes: after.up - before.up + after.down - before.down };
    } finally {
      await server.stop();
    }
  } finally {
    topology.teardown();
  }
}

/**
 * Users one link carries at the measured bandwidth per user: link kbit/s ÷ kbit/s per user. The
 * measured figure counts application bytes; `wireOverhead` (wire ÷ application bytes over the
 * run) turns it into what the link really carries, headers included.
 */
export function usersPerLink(linkBitsPerSecond: number, kbpsPerUser: number, wireOverhead = 1): number {
  if (kbpsPerUser <= 0) return Number.POSITIVE_INFINITY;
  return Math.floor(linkBitsPerSecond / 1000 / (kbpsPerUser * wireOverhead));
}

/** The lab server a scenario target names (`lab:`), else the first lab server of its protocol. */
function labKindOfTarget(file: string, targetName: string): string {
  const target = loadScenarioFile(file).config.targets[targetName];
  if (!target) throw new NetnsError(`${file} has no target named "${targetName}"`);
  const kind = target.lab ?? requireDescriptor(parseTargetUrl(target.url).protocol).lab[0]?.kind;
  if (!kind) throw new NetnsError(`target ${targetName}: its protocol has no lab server`);
  return kind;
}

/** The helper side of startLabIn: runs inside the namespace. */
async function serveLab(kind: string, context: LabContext): Promise<void> {
  const lab = await startLabFor(kind, context);
  process.stdout.write(`${JSON.stringify({ url: lab.url })}\n`);
  const stop = () => void lab.stop().then(() => process.exit(0));
  process.stdin.on('end', stop).resume();
  process.once('SIGTERM', stop);
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url) && process.argv[2] === 'serve-lab') {
  const [kind, context] = process.argv.slice(3);
  serveLab(kind!, JSON.parse(context!) as LabContext).catch((error: Error) => {
    process.stderr.write(`serve-lab: ${error.message}\n`);
    process.exit(3);
  });
}
