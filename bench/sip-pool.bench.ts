/**
 * The LCS 2005 pool figure on one Kamailio: `lcs-pool-100k` from scenarios.yaml (101,000 users
 * over UDP, REGISTER + PUBLISH + 20 SUBSCRIBEs each, 3 IM/h and 2 presence changes/h in real
 * time, held 10 minutes) through `imload run`, with Kamailio's shared memory, its CPU, the
 * generator's verdict and the kernel's UDP drop counter sampled alongside, so that a run that
 * stops short names its bottleneck. Also the bandwidth per user beside 1.6 kbit/s.
 *
 *   node --import tsx bench/sip-pool.bench.ts [--users N] [--hold 10m] [--rate 100] [--workers N]
 *
 * The bench starts Kamailio itself (sized for the users) rather than with --lab, so it can
 * read Kamailio's memory and CPU while the run goes on.
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { runCommand } from '../src/commands/run.js';
import { startKamailio } from '../src/protocols/sip/lab.js';
import { groupCpuSeconds, kamailioShm, udpReceiveBufferErrors } from './sip-probes.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '101000' },
    hold: { type: 'string', default: '10m' },
    rate: { type: 'string', default: '100' },
    scenario: { type: 'string', default: 'lcs-pool-100k' },
    /** Worker processes; default: what `imload run` picks for SIP over UDP. */
    workers: { type: 'string' },
  },
});
const users = Number(args.users);
const SAMPLE_EVERY_MS = 30_000;
const LCS_KBPS_PER_USER = 1.6;
const EIGHT_HOURS_S = 8 * 3600;

const lab = await startKamailio({ users, domain: 'lab.test' });
const samples: string[] = [];
let peakShm = 0;
let shmTotal = 0;
let peakKamailioCpu = 0;
try {
  // The scenario as written, pointed at this Kamailio with its ctl socket for the cross-check.
  const config = parse(readFileSync('scenarios.yaml', 'utf8')) as {
    targets: Record<string, Record<string, unknown>>;
    scenarios: Record<string, Record<string, unknown>>;
  };
  const scenario = config.scenarios[args.scenario]!;
  const targetName = scenario.target as string;
  const target = config.targets[targetName]!;
  delete target.lab;
  target.url = `sip://${lab.udp.host}:${lab.udp.port}`;
  target.options = { ...(target.options as object | undefined), ctl: lab.ctl };
  scenario.phases = (scenario.phases as Record<string, unknown>[]).map((phase) =>
    phase.phase === 'rampUp' ? { ...phase, rate: Number(args.rate) } : phase.phase === 'hold' ? { ...phase, duration: args.hold } : phase,
  );
  const dir = mkdtempSync(join(tmpdir(), 'imload-sip-pool-'));
  const file = join(dir, 'scenarios.yaml');
  writeFileSync(file, stringify({ version: 1, targets: { [targetName]: target }, scenarios: { [args.scenario]: scenario } }));

  const dropsBefore = udpReceiveBufferErrors();
  let lastCpu = groupCpuSeconds(lab.pid);
  let lastAt = Date.now();
  const startedAt = Date.now();
  const sampler = setInterval(() => {
    const shm = kamailioShm(lab.ctl);
    const cpu = groupCpuSeconds(lab.pid);
    const now = Date.now();
    const cores = (cpu - lastCpu) / ((now - lastAt) / 1000);
    lastCpu = cpu;
    lastAt = now;
    peakShm = Math.max(peakShm, shm?.maxUsedMiB ?? 0);
    shmTotal = shm?.totalMiB ?? shmTotal;
    peakKamailioCpu = Math.max(peakKamailioCpu, cores);
    const line = `t=${Math.round((now - startedAt) / 1000)}s kamailio shm ${shm?.usedMiB}/${shm?.totalMiB} MiB (high-water ${shm?.maxUsedMiB}), cpu ${(cores * 100).toFixed(0)}% of a core, udp drops ${udpReceiveBufferErrors() - dropsBefore}`;
    samples.push(line);
    process.stderr.write(`${line}\n`);
  }, SAMPLE_EVERY_MS);

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
    `  kamailio shm high-water ${peakShm} MiB of ${shmTotal}, peak cpu ${(peakKamailioCpu * 100).toFixed(0)}% of a core; udp receive-buffer drops ${udpReceiveBufferErrors() - dropsBefore}`,
    `  generator: ${JSON.stringify(s.generator)}`,
    `  bandwidth (hold, real time): ${s.bandwidth.kbpsPerUser} kbit/s per user (application bytes) vs LCS 2005 ${LCS_KBPS_PER_USER} kbit/s`,
    `  logon ${Math.round(logonBytesPerUser)} bytes per user; amortised over 8 h with hourly refreshes ≈ ${amortisedKbps.toFixed(3)} kbit/s per user; total ≈ ${(s.bandwidth.kbpsPerUser + amortisedKbps).toFixed(3)} kbit/s`,
    ...samples.map((line) => `  ${line}`),
  ];
  process.stdout.write(`${report.join('\n')}\n`);
} finally {
  await lab.stop();
}
