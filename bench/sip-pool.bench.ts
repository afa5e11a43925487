/**
 * The LCS 2005 pool figure: `lcs-pool-100k` from scenarios.yaml (101,000 users over UDP,
 * REGISTER + PUBLISH + 20 SUBSCRIBEs each, 3 IM/h and 2 presence changes/h in real time, held
 * 10 minutes) through `imload run`, with every Kamailio's shared memory and CPU, the generator's
 * verdict, the load average and the kernel's UDP drop counter sampled alongside, so that a run
 * that stops short names its bottleneck. Also the bandwidth per user beside 1.6 kbit/s.
 *
 *   node --import tsx bench/sip-pool.bench.ts [--topology single|pool] [--users N] [--hold 10m]
 *     [--rate 100] [--ramp-down-rate 150] [--workers N]
 *
 * `--topology single` (default): one Kamailio, the scenario's own target. `--topology pool`: the
 * `kamailio-pool` lab (director with Digest, dispatcher, two front ends sharing registrations over
 * dmq_usrloc, one presence server behind them), sized for the users; the users register through
 * the director, so about half of the IMs cross front ends (the agent times them apart), and the
 * cross-check reads the front ends' own location tables, each sampled here too.
 *
 * The bench starts the servers itself (sized for the users) rather than with --lab, so it can
 * read their memory and CPU while the run goes on.
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { runCommand } from '../src/commands/run.js';
import { startKamailio } from '../src/protocols/sip/lab.js';
import { registeredUsers } from '../src/protocols/sip/kamcmd.js';
import { startKamailioPool } from '../src/protocols/sip/pool-lab.js';
import { groupCpuSeconds, kamailioShm, udpReceiveBufferErrors } from './sip-probes.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '101000' },
    hold: { type: 'string', default: '10m' },
    rate: { type: 'string', default: '100' },
    scenario: { type: 'string', default: 'lcs-pool-100k' },
    topology: { type: 'string', default: 'single' },
    /** Logoffs per second in the ramp-down; default: the scenario's. */
    'ramp-down-rate': { type: 'string' },
    /** Worker processes; default: what `imload run` picks for SIP over UDP. */
    workers: { type: 'string' },
  },
});
const users = Number(args.users);
const SAMPLE_EVERY_MS = 30_000;
const LCS_KBPS_PER_USER = 1.6;
const EIGHT_HOURS_S = 8 * 3600;

if (args.topology !== 'single' && args.topology !== 'pool') throw new Error(`--topology: single or pool, not ${args.topology}`);

/** One Kamailio process group to sample: CPU, shared memory, and (front ends, single) its usrloc count. */
interface Element {
  readonly name: string;
  pid(): number;
  readonly ctl: string;
  readonly registrar: boolean;
}
interface Servers {
  readonly url: string;
  readonly options: Record<string, unknown>;
  readonly password?: string;
  readonly elements: readonly Element[];
  stop(): Promise<void>;
}

async function startServers(): Promise<Servers> {
  if (args.topology === 'single') {
    const lab = await startKamailio({ users, domain: 'lab.test' });
    return {
      url: `sip://${lab.udp.host}:${lab.udp.port}`,
      options: { ctl: lab.ctl },
      elements: [{ name: 'kamailio', pid: () => lab.pid, ctl: lab.ctl, registrar: true }],
      stop: () => lab.stop(),
    };
  }
  // A password made for the run: the director checks Digest with it, the workers answer with it.
  const password = process.env.IMLOAD_SIP_PASSWORD ?? randomBytes(12).toString('hex');
  const pool = await startKamailioPool({ users, domain: 'lab.test', password });
  const element = (e: { name: string; pid(): number; ctl: string }, registrar = false): Element => ({ name: e.name, pid: () => e.pid(), ctl: e.ctl, registrar });
  return {
    url: `sip://${pool.director.host}:${pool.director.port}`,
    options: { ctl: pool.frontEnds[0]!.ctl, poolCtl: pool.frontEnds.map((fe) => fe.ctl) },
    password,
    elements: [element(pool.director), element(pool.dispatcher), ...pool.frontEnds.map((fe) => element(fe, true)), element(pool.presence)],
    stop: () => pool.stop(),
  };
}

const servers = await startServers();
const samples: string[] = [];
const peaks = new Map<string, { shmMiB: number; shmTotalMiB: number; cores: number; registered: number }>();
try {
  // The scenario as written, pointed at these servers with their ctl sockets for the cross-check.
  const config = parse(readFileSync('scenarios.yaml', 'utf8')) as {
    targets: Record<string, Record<string, unknown>>;
    scenarios: Record<string, Record<string, unknown>>;
  };
  const scenario = config.scenarios[args.scenario]!;
  const targetName = scenario.target as string;
  const target = config.targets[targetName]!;
  delete target.lab;
  target.url = servers.url;
  target.options = { ...(target.options as object | undefined), ...servers.options };
  if (servers.password !== undefined) {
    process.env.IMLOAD_SIP_PASSWORD = servers.password;
    target.password = { env: 'IMLOAD_SIP_PASSWORD' };
  }
  const rampDownRate = args['ramp-down-rate'];
  scenario.phases = (scenario.phases as Record<string, unknown>[]).map((phase) =>
    phase.phase === 'rampUp' ? { ...phase, rate: Number(args.rate) }
    : phase.phase === 'hold' ? { ...phase, duration: args.hold }
    : phase.phase === 'rampDown' && rampDownRate !== undefined ? { ...phase, rate: Number(rampDownRate) }
    : phase,
  );
  const dir = mkdtempSync(join(tmpdir(), 'imload-sip-pool-'));
  const file = join(dir, 'scenarios.yaml');
  writeFileSync(file, stringify({ version: 1, targets: { [targetName]: target }, scenarios: { [args.scenario]: scenario } }));

  const dropsBefore = udpReceiveBufferErrors();
  const lastCpu = new Map(servers.elements.map((e) => [e.name, groupCpuSeconds(e.pid())]));
  let lastAt = Date.now();
  const startedAt = Date.now();
  const sample = async (): Promise<void> => {
    const now = Date.now();
    const parts: string[] = [];
    for (const e of servers.elements) {
      const shm = kamailioShm(e.ctl);
      const cpu = groupCpuSeconds(e.pid());
      const cores = (cpu - lastCpu.get(e.name)!) / ((now - lastAt) / 1000);
      lastCpu.set(e.name, cpu);
      const registered = e.registrar ? await registeredUsers('kamcmd', e.ctl).catch(() => NaN) : NaN;
      const peak = peaks.get(e.name) ?? { shmMiB: 0, shmTotalMiB: 0, cores: 0, registered: 0 };
      peaks.set(e.name, {
        shmMiB: Math.max(peak.shmMiB, shm?.maxUsedMiB ?? 0),
        shmTotalMiB: shm?.totalMiB ?? peak.shmTotalMiB,
        cores: Math.max(peak.cores, cores),
        registered: Math.max(peak.registered, Number.isNaN(registered) ? 0 : registered),
      });
      parts.push(`${e.name} shm ${shm?.usedMiB}/${shm?.totalMiB} MiB (hw ${shm?.maxUsedMiB}) cpu ${(cores * 100).toFixed(0)}%${e.registrar ? ` usrloc ${registered}` : ''}`);
    }
    lastAt = now;
    const line = `t=${Math.round((now - startedAt) / 1000)}s load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${parts.join('; ')}; udp drops ${udpReceiveBufferErrors() - dropsBefore}`;
    samples.push(line);
    process.stderr.write(`${line}\n`);
  };
  const sampler = setInterval(() => void sample(), SAMPLE_EVERY_MS);

  const { result, runDir } = await runCommand({
    file,
    scenario: args.scenario,
    users,
    workers: args.workers === undefined ? undefined : Number(args.workers),
    out: join(dir, 'run'),
    quiet: false,
  });
  clearInterval(sampler);
  const s = result.summary;

  // Logon bytes per user: everything moved before the hold, over the users who logged on.
  const journal = readFileSync(join(runDir, 'journal.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  let rampBytes = 0;
  for (const entry of journal) {
    if (entry.type !== 'second' || entry.phase !== 'rampUp') continue;
    const counters = entry.counters as Record<string, number>;
    rampBytes += (counters.bytesIn ?? 0) + (counters.bytesOut ?? 0);
  }
  const logonBytesPerUser = s.users.logonOk > 0 ? rampBytes / s.users.logonOk : 0;
  // Over eight hours a user logs on once and refreshes REGISTER, PUBLISH and its 20 SUBSCRIBEs
  // about 8 times (3600 s grants); a refresh round costs about what the logon did.
  const amortisedKbps = (logonBytesPerUser * (1 + 8) * 8) / EIGHT_HOURS_S / 1000;

  const report = [
    `sip-pool: ${args.scenario}, ${users} users requested, ramp ${args.rate}/s, hold ${args.hold}, run ${runDir}`,
    `  ended: ${s.end.reason}${s.end.detail ? ` (${s.end.detail})` : ''} after ${s.durationSeconds} s`,
    `  peak online ${s.users.peakOnline}, logons ok ${s.users.logonOk}, failed ${s.users.logonFailures}, logon p50 ${s.latency.logon.p50} ms p95 ${s.latency.logon.p95} ms`,
    `  cross-check: imload ${s.crossCheck?.imloadOnline}, Kamailio usrloc ${s.crossCheck?.serverOnline}`,
    `  messages sent ${s.messages.sent}, delivered ${s.messages.delivered}/${s.messages.expected}, delivery p99 ${s.latency.delivery.p99} ms`,
    `  presence changes ${s.presence.changes}, seen ${s.presence.seen}/${s.presence.expected}, propagation p95 ${s.latency.presence.p95} ms`,
    `  retransmissions ${s.retransmissions}, errors ${s.errors.total} ${JSON.stringify(s.errors.byKind)}`,
    ...[...peaks].map(([name, p]) => `  ${name}: shm high-water ${p.shmMiB} MiB of ${p.shmTotalMiB}, peak cpu ${(p.cores * 100).toFixed(0)}% of a core${p.registered > 0 ? `, peak usrloc ${p.registered}` : ''}`),
    `  udp receive-buffer drops ${udpReceiveBufferErrors() - dropsBefore}; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    ...(['deliverySameFrontEnd', 'deliveryCrossFrontEnd'] as const).map((name) => {
      const l = s.latency[name];
      return l === undefined ? `  ${name}: none` : `  ${name}: ${l.count} deliveries, p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max} ms`;
    }),
    `  messages lost ${s.messages.lost}, duplicates ${s.messages.duplicates}, undeliverable ${s.messages.undeliverable}, failed ${s.messages.failed}, cancelled ${s.messages.cancelled}`,
    `  counters ${JSON.stringify(s.counters)}`,
    `  notes ${JSON.stringify(s.notes.map((n) => n.key))}`,
    `  generator: ${JSON.stringify(s.generator)}`,
    `  bandwidth (hold, real time): ${s.bandwidth.kbpsPerUser} kbit/s per user (application bytes) vs LCS 2005 ${LCS_KBPS_PER_USER} kbit/s`,
    `  logon ${Math.round(logonBytesPerUser)} bytes per user; amortised over 8 h with hourly refreshes ≈ ${amortisedKbps.toFixed(3)} kbit/s per user; total ≈ ${(s.bandwidth.kbpsPerUser + amortisedKbps).toFixed(3)} kbit/s`,
    ...samples.map((line) => `  ${line}`),
  ];
  process.stdout.write(`${report.join('\n')}\n`);
} finally {
  await servers.stop();
}
