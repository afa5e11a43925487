/**
 * imload's SIP stack beside SIPp, against the same Kamailio in one run: REGISTER, then
 * pager-mode MESSAGE, each as a ladder of offered rates (20 s a step). For each generator it
 * reports the highest rate achieved before the first failed transaction, and its CPU per
 * 1,000 transactions read from /proc/<pid>/stat (SIPp: the sipp process, UAC plus the UAS
 * for MESSAGE; imload: the driver process, bench/sip-driver.ts). Target: imload's CPU per
 * REGISTER at most SIPp's, in a fresh process and a warm one (#19; issue 4's was 1.5x).
 *
 * imload's REGISTER steps run twice: `imload` in a fresh process per step (cold: V8 compiles
 * the hot path inside the measured step) and `imload-warm` in one process for the whole ladder,
 * warmed by an unmeasured 3 s step (as in a run's workers, which live for minutes to hours).
 * SIPp, compiled ahead of time, has no such difference. The start-up costs a cold process
 * 0.1–0.5 s of CPU: over 5 s steps that is a quarter to a third more per transaction, over the default 20 s
 * steps cold and warm agree, so the figure is a cost per transaction, not per process.
 *
 *   flock /tmp/imload-integration.lock node --import tsx bench/sip-vs-sipp.bench.ts [--steps 2000,4000,...] [--message-steps ...|''] [--seconds 20] [--floor] [--udp-sockets N]
 *
 * (`flock`: the benchmark lock the integration tests and the other benches take, so no other
 * load shares the ladder's minutes.)
 *
 * The driver processes get IMLOAD_WORKER_NODE_FLAGS, as a run's workers do.
 *
 * Both generators send the same requests (bench/sipp/*.xml mirror what the agent sends), use
 * different user names (i…/s…) so neither refreshes the other's bindings, and take turns at
 * each rate (never at once), so both meet the same background load on a shared host.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { workerNodeFlags } from '../src/engine/coordinator.js';
import { startKamailio } from '../src/protocols/sip/lab.js';
import { freePort } from '../src/lab/ports.js';
import type { DriverExit, DriverResult, DriverStep } from './sip-driver.js';
import { CpuFollower, groupCpuSeconds } from './sip-probes.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '2000,4000,6000,8000,10000,12000' },
    'message-steps': { type: 'string', default: '1000,2000,3000,4000,6000' },
    seconds: { type: 'string', default: '20' },
    /** Also run the floor of Node's dgram path at each REGISTER rate (bench/sip-driver.ts `register-floor`). */
    floor: { type: 'boolean', default: false },
    /**
     * Also run imload warm over node:dgram (IMLOAD_UDP=node) beside the default, the UDP addon
     * (src/protocols/connected-udp.ts): what the addon saves, side by side.
     */
    dgram: { type: 'boolean', default: false },
    /** imload's shared UDP sockets (the agent's `udpSockets` option; default the agent's, 4). SIPp's `-t u1` is one. */
    'udp-sockets': { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const UDP_SOCKETS = args['udp-sockets'] === undefined ? undefined : Number(args['udp-sockets']);
const DOMAIN = 'lab.test';
const SIPP_DIR = fileURLToPath(new URL('./sipp/', import.meta.url));
const DRIVER = fileURLToPath(new URL('./sip-driver.ts', import.meta.url));
const MESSAGE_RECIPIENTS = 1000;
/** The warm driver's unmeasured first step. */
const WARM_UP_RATE = 2000;
const WARM_UP_SECONDS = 3;
/** A SIPp run never outlives this (its own -timeout is shorter). */
const SIPP_CAP_MS = 90_000;

/**
 * imload in a fresh process per step (cold), imload in one process for the ladder (warm), SIPp;
 * with --floor, the least a Node program can do per REGISTER over node:dgram, in one warm process;
 * with --dgram, imload warm over node:dgram instead of its UDP addon.
 */
const ALL_TOOLS = ['imload', 'imload-warm', 'imload-dgram', 'node-floor', 'sipp'] as const;
type Tool = (typeof ALL_TOOLS)[number];
const TOOLS = ALL_TOOLS.filter((tool) => (tool !== 'node-floor' || args.floor) && (tool !== 'imload-dgram' || args.dgram));

interface StepResult extends DriverResult {
  readonly tool: Tool;
  readonly kind: DriverStep['kind'];
  readonly rate: number;
  readonly kamailioCpuSeconds: number;
}

const work = mkdtempSync(join(tmpdir(), 'imload-sipp-'));
function injection(name: string, prefix: string, count: number, extra = ''): string {
  const file = join(work, name);
  const lines = ['SEQUENTIAL'];
  for (let i = 1; i <= count; i++) lines.push(`${prefix}${String(i).padStart(6, '0')};${DOMAIN}${extra}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** One driver process (bench/sip-driver.ts); its steps run one after another. */
class Driver {
  private readonly child: ChildProcess;
  private readonly cap: NodeJS.Timeout;
  private pending: { resolve: (result: DriverResult) => void; reject: (error: Error) => void } | undefined;

  constructor(lifetimeMs: number, env: NodeJS.ProcessEnv = process.env) {
    this.child = fork(DRIVER, [], { execArgv: ['--import', 'tsx', ...workerNodeFlags()], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.cap = setTimeout(() => this.child.kill('SIGKILL'), lifetimeMs);
    this.child.on('message', (result: DriverResult | { error: string }) => {
      const pending = this.pending;
      this.pending = undefined;
      if ('error' in result) pending?.reject(new Error(result.error));
      else pending?.resolve(result);
    });
    this.child.once('exit', (code) => {
      clearTimeout(this.cap);
      this.pending?.reject(new Error(`driver exited with ${code}`));
    });
  }

  run(step: DriverStep): Promise<DriverResult> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.send(step);
    });
  }

  stop(): void {
    clearTimeout(this.cap);
    this.child.send({ kind: 'exit' } satisfies DriverExit);
  }
}

/** A step in a process of its own: imload pays its JIT warm-up inside the measured span. */
async function runColdDriver(step: DriverStep): Promise<DriverResult> {
  const driver = new Driver(SIPP_CAP_MS);
  try {
    return await driver.run(step);
  } finally {
    driver.stop();
  }
}

/** Runs sipp to completion; CPU followed from /proc while it runs; counts from its final stats. */
async function runSipp(scenario: string, args: string[]): Promise<DriverResult> {
  const statFile = join(work, `stat-${Date.now()}.csv`);
  const started = performance.now();
  const child = spawn('sipp', [...args, '-sf', join(SIPP_DIR, scenario), '-nostdin', '-timeout', '60s', '-timeout_error',
    '-max_non_invite_retrans', '6', '-trace_stat', '-stf', statFile, '-fd', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const cpu = new CpuFollower(child.pid!);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const cap = setTimeout(() => child.kill('SIGKILL'), SIPP_CAP_MS);
  await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(cap);
  const cpuSeconds = cpu.stop();
  const elapsed = (performance.now() - started) / 1000;
  return { ...sippCounts(statFile, stderr), elapsedSeconds: elapsed, cpuSeconds };
}

/** Cumulative counters from the last line of SIPp's -trace_stat file. */
function sippCounts(statFile: string, stderr: string): Pick<DriverResult, 'ok' | 'failed' | 'retransmissions'> & { elapsedSeconds?: number } {
  let lines: string[];
  try {
    lines = readFileSync(statFile, 'utf8').trim().split('\n');
  } catch {
    throw new Error(`sipp wrote no statistics: ${stderr.slice(0, 500)}`);
  }
  const names = lines[0]!.split(';');
  const last = lines.at(-1)!.split(';');
  const field = (name: string): number => Number(last[names.indexOf(name)]);
  return { ok: field('SuccessfulCall(C)'), failed: field('FailedCall(C)'), retransmissions: field('Retransmissions(C)') };
}

const lab = await startKamailio({ domain: DOMAIN, children: 4, shmMb: 2048 });
const host = lab.udp.host;
const port = lab.udp.port;
const results: StepResult[] = [];
const record = (tool: StepResult['tool'], kind: StepResult['kind'], rate: number, kamailioBefore: number, result: DriverResult): StepResult => {
  const entry = { tool, kind, rate, ...result, kamailioCpuSeconds: result.serverCpuSeconds ?? groupCpuSeconds(lab.pid) - kamailioBefore };
  results.push(entry);
  process.stderr.write(`${format(entry)}\n`);
  return entry;
};

try {
  const maxCalls = Math.max(...args.steps.split(',').map(Number)) * SECONDS;
  const sippUsers = injection('register.csv', 's', maxCalls);
  // Steps alternate between the generators, so both meet the same background load on a shared host.
  const failedAlready = new Set<string>();
  const rates = args.steps.split(',').map(Number);
  // The warm driver lives for the whole ladder, warmed first by an unmeasured step.
  const warm = new Driver(SIPP_CAP_MS * (rates.length + 1));
  const floor = args.floor ? new Driver(SIPP_CAP_MS * (rates.length + 1)) : undefined;
  const warmDgram = args.dgram ? new Driver(SIPP_CAP_MS * (rates.length + 1), { ...process.env, IMLOAD_UDP: 'node' }) : undefined;
  const register = (rate: number, seconds: number, userPrefix: string): DriverStep =>
    ({ kind: 'register', host, port, domain: DOMAIN, rate, seconds, serverPgid: lab.pid, userPrefix, udpSockets: UDP_SOCKETS });
  // Each tool's answers carry one binding per user, as in a run (every user registers once): the
  // warm driver and the floor keep their sockets for the ladder and SIPp one local port, so a
  // later step refreshes the bindings an earlier one made; a cold driver's sockets are new at
  // every step, so its users are new at every step.
  const sippPort = await freePort(host);
  let coldSteps = 0;
  try {
    await warm.run(register(WARM_UP_RATE, WARM_UP_SECONDS, 'w'));
    await floor?.run({ ...register(WARM_UP_RATE, WARM_UP_SECONDS, 'f'), kind: 'register-floor' });
    await warmDgram?.run(register(WARM_UP_RATE, WARM_UP_SECONDS, 'd'));
    for (const rate of rates) {
      for (const tool of TOOLS) {
        if (failedAlready.has(tool)) continue;
        const before = groupCpuSeconds(lab.pid);
        const calls = rate * SECONDS;
        let result: DriverResult;
        if (tool === 'imload') result = await runColdDriver(register(rate, SECONDS, `i${++coldSteps}x`));
        else if (tool === 'imload-warm') {
          result = await warm.run(register(rate, SECONDS, 'w'));
        } else if (tool === 'imload-dgram') {
          result = await warmDgram!.run(register(rate, SECONDS, 'd'));
        } else if (tool === 'node-floor') {
          result = await floor!.run({ ...register(rate, SECONDS, 'f'), kind: 'register-floor' });
        } else {
          result = await runSipp('register.xml', [`${host}:${port}`, '-inf', sippUsers, '-i', host, '-p', String(sippPort), '-r', String(rate), '-m', String(calls), '-l', String(calls)]);
        }
        if (record(tool, 'register', rate, before, result).failed > 0) failedAlready.add(tool);
      }
    }
  } finally {
    warm.stop();
    floor?.stop();
    warmDgram?.stop();
  }

  // `--message-steps ''` leaves MESSAGE out (a REGISTER-only run).
  const messageRates = args['message-steps'].split(',').filter((rate) => rate.trim() !== '').map(Number);
  if (messageRates.length > 0) await messageLadder(messageRates);
} finally {
  await lab.stop();
}

/** MESSAGE: SIPp's recipients are registered with their Contact at a receiving SIPp (UAS). */
async function messageLadder(rates: number[]): Promise<void> {
  const uasPort = await freePort(host);
  const uas = spawn('sipp', ['-sf', join(SIPP_DIR, 'message-uas.xml'), '-i', host, '-p', String(uasPort), '-nostdin'], { stdio: 'ignore' });
  const recipients = injection('recipients.csv', 'r', MESSAGE_RECIPIENTS, `;${host}:${uasPort}`);
  await runSipp('register-recipients.xml', [`${host}:${port}`, '-inf', recipients, '-i', host, '-p', String(await freePort(host)), '-r', '1000', '-m', String(MESSAGE_RECIPIENTS)]);
  const targets = injection('targets.csv', 'r', MESSAGE_RECIPIENTS);
  const failedAlready = new Set<string>();
  try {
    for (const rate of rates) {
      for (const tool of ['imload', 'sipp'] as const) {
        if (failedAlready.has(tool)) continue;
        const before = groupCpuSeconds(lab.pid);
        const calls = rate * SECONDS;
        let result: DriverResult;
        if (tool === 'imload') result = await runColdDriver({ kind: 'message', host, port, domain: DOMAIN, rate, seconds: SECONDS, serverPgid: lab.pid });
        else {
          // The UAS is a generator too: its CPU over the step is added to the UAC's.
          const uasCpu = new CpuFollower(uas.pid!);
          const uac = await runSipp('message-uac.xml', [`${host}:${port}`, '-inf', targets, '-i', host, '-p', String(await freePort(host)), '-r', String(rate), '-m', String(calls), '-l', String(calls)]);
          result = { ...uac, cpuSeconds: uac.cpuSeconds + uasCpu.stop() };
        }
        if (record(tool, 'message', rate, before, result).failed > 0) failedAlready.add(tool);
      }
    }
  } finally {
    uas.kill('SIGTERM');
  }
}

function format(r: StepResult): string {
  const achieved = r.elapsedSeconds > 0 ? r.ok / r.elapsedSeconds : 0;
  const cpuPerThousand = r.ok > 0 ? (r.cpuSeconds / r.ok) * 1000 : 0;
  return `${r.tool.padEnd(12)} ${r.kind.padEnd(8)} offered ${String(r.rate).padStart(6)}/s  achieved ${achieved.toFixed(0).padStart(6)}/s  ok ${r.ok}  failed ${r.failed}  retrans ${r.retransmissions}  generator cpu ${r.cpuSeconds.toFixed(2)} s = ${cpuPerThousand.toFixed(3)} s per 1000  kamailio cpu ${r.kamailioCpuSeconds.toFixed(2)} s${r.udpBackend === undefined ? '' : `  udp ${r.udpBackend}`}`;
}

/**
 * A step whose figure is a cost per transaction: none failed, and at most 1 % re-sent. A host too
 * busy to answer in T1 makes a generator retransmit (at 12,000/s here: 114,000–168,000 of
 * 240,000), and every retransmission is CPU no other tool spent on that step.
 */
const MAX_RETRANSMITTED = 0.01;
const isClean = (r: StepResult): boolean => r.failed === 0 && r.retransmissions <= r.ok * MAX_RETRANSMITTED;

process.stdout.write(`\nsip-vs-sipp summary (imload: ${UDP_SOCKETS ?? 'the agent\'s default number of'} shared UDP sockets; SIPp -t u1: one; clean: no failure, ≤ ${MAX_RETRANSMITTED * 100} % re-sent)\n`);
for (const kind of ['register', 'message'] as const) {
  const stepsOf = (tool: Tool): StepResult[] => results.filter((r) => r.kind === kind && r.tool === tool);
  for (const tool of TOOLS) {
    const steps = stepsOf(tool);
    if (steps.length === 0) continue;
    const clean = steps.filter(isClean);
    const best = steps.filter((r) => r.failed === 0).reduce((max, r) => Math.max(max, r.elapsedSeconds > 0 ? r.ok / r.elapsedSeconds : 0), 0);
    const ok = clean.reduce((n, r) => n + r.ok, 0);
    const cpu = clean.reduce((n, r) => n + r.cpuSeconds, 0);
    process.stdout.write(`${kind} ${tool}: best achieved before the first failures ${best.toFixed(0)}/s; CPU ${ok > 0 ? ((cpu / ok) * 1000).toFixed(3) : '-'} s per 1000 over its clean steps\n`);
  }
  /** Two tools' CPU per 1,000 over the rates where both were clean, so each is weighed on the same steps. */
  const compare = (a: Tool, b: Tool): { a: number; b: number; rates: number[] } | undefined => {
    const cleanRates = (tool: Tool): Set<number> => new Set(stepsOf(tool).filter(isClean).map((r) => r.rate));
    const ofB = cleanRates(b);
    const rates = [...cleanRates(a)].filter((rate) => ofB.has(rate));
    const perThousand = (tool: Tool): number => {
      const steps = stepsOf(tool).filter((r) => rates.includes(r.rate));
      return (steps.reduce((n, r) => n + r.cpuSeconds, 0) / steps.reduce((n, r) => n + r.ok, 0)) * 1000;
    };
    return rates.length === 0 ? undefined : { a: perThousand(a), b: perThousand(b), rates };
  };
  for (const tool of ['imload', 'imload-warm', 'imload-dgram', 'node-floor'] as const) {
    const pair = compare(tool, 'sipp');
    if (pair !== undefined) process.stdout.write(`${kind} ${tool} / sipp CPU per 1000 over the rates both were clean (${pair.rates.join(', ')}/s): ${(pair.a / pair.b).toFixed(2)}x\n`);
  }
  if (kind === 'register') {
    // What a cold process spends beyond a warm one at each rate: a one-off start-up cost (the JIT)
    // stays about the same whatever the rate; a cost per transaction would grow with it.
    const coldWarm = compare('imload', 'imload-warm');
    const cpuOf = (tool: Tool, rate: number): number | undefined => stepsOf(tool).find((r) => r.rate === rate)?.cpuSeconds;
    const extra = (coldWarm?.rates ?? []).map((rate) => `${rate}/s ${((cpuOf('imload', rate) ?? NaN) - (cpuOf('imload-warm', rate) ?? NaN)).toFixed(2)} s`);
    if (extra.length > 0) process.stdout.write(`register: cold CPU minus warm CPU, per ${SECONDS} s step: ${extra.join(', ')}\n`);
    // imload's own share: what its warm stack spends above the least any Node program spends.
    const overFloor = compare('imload-warm', 'node-floor');
    if (overFloor !== undefined) process.stdout.write(`register: imload-warm / node-floor ${(overFloor.a / overFloor.b).toFixed(2)}x over ${overFloor.rates.join(', ')}/s (imload's SIP stack above node:dgram's floor)\n`);
    const addon = compare('imload-warm', 'imload-dgram');
    if (addon !== undefined) process.stdout.write(`register: imload-warm / imload-dgram ${(addon.a / addon.b).toFixed(2)}x over ${addon.rates.join(', ')}/s (the UDP addon against node:dgram, both warm)\n`);
  }
}
for (const r of results) process.stdout.write(`  ${format(r)}\n`);
