/**
 * 100,000 concurrent IRC users on six linked InspIRCd servers (#19 item 4): scenario
 * `chat-network-100k` with its lab (`inspircd-network`, 6 servers, range spread), the
 * documented workload in real time, a 10-minute hold. Prints what the issue asks for: losses
 * and drops, the network's global LUSERS against imload's count, the host's CPU during the
 * ramp and the hold (the ramp must not saturate it), the generator's memory per VU (the
 * report's own figure, target ≤ 10 KiB) and event-loop delay, and the servers' CPU and RSS.
 *
 *   node --import tsx bench/irc-network-100k.bench.ts [--users N] [--duration 10m] [--workers N]
 *
 * Prove it small first (`--users 20000 --duration 1m`); the full run takes ~26 minutes (ramp 150/s,
 * hold 10 min, ramp-down 500/s).
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg, totalmem } from 'node:os';
import { runCommand } from '../src/commands/run.js';
import { readJournal, type JournalSecond } from '../src/metrics/journal.js';
import { GENERATOR_LIMITS, describeRssPerVu } from '../src/analysis/generator.js';

const { values } = parseArgs({ options: { users: { type: 'string' }, duration: { type: 'string' }, workers: { type: 'string' } } });

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadAtStart = load();
const coordinatorCpuStart = process.cpuUsage();
const startedAt = performance.now();
const { exitCode, result, runDir } = await runCommand({
  file: 'scenarios.yaml',
  scenario: 'chat-network-100k',
  lab: true,
  users: values.users ? Number(values.users) : undefined,
  duration: values.duration,
  workers: values.workers ? Number(values.workers) : undefined,
  quiet: false,
});
const wallSeconds = (performance.now() - startedAt) / 1000;
const coordinatorCpu = process.cpuUsage(coordinatorCpuStart);
const s = result.summary;
const seconds = readJournal(`${runDir}/journal.ndjson`).filter((e): e is JournalSecond => e.type === 'second');
const ramp = seconds.filter((e) => e.phase === 'rampUp');
const hold = seconds.filter((e) => e.phase === 'hold');

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const f1 = (x: number) => x.toFixed(1);
const hostCpu = (phase: JournalSecond[]) => phase.flatMap((e) => (e.host ? [e.host.cpuPercent] : []));
const serverCpu = (phase: JournalSecond[]) => phase.flatMap((e) => (e.server ? [e.server.cpuPercent] : []));
const workerCpu = (phase: JournalSecond[]) => phase.flatMap((e) => e.health.map((h) => h.cpuPercent));
const rssAt = (e: JournalSecond) => e.health.reduce((n, h) => n + h.rssBytes, 0);
const vusAt = (e: JournalSecond) => e.health.reduce((n, h) => n + h.vus, 0);
const peak = seconds.reduce((best, e) => (vusAt(e) >= vusAt(best) ? e : best), seconds[0]!);
const rampDown = seconds.filter((e) => e.phase === 'rampDown');
const loopP99sOf = (phase: JournalSecond[]) => phase.flatMap((e) => e.health.map((h) => h.eventLoopP99));
const loopP99s = loopP99sOf(hold);
/** Per phase: the per-second worker p99s' median / p95 / max, and the seconds the generator verdict counts as slow. */
const loopOf = (phase: JournalSecond[]) => {
  const p99s = loopP99sOf(phase);
  const slow = phase.filter((e) => e.health.some((h) => h.eventLoopP99 > GENERATOR_LIMITS.eventLoopP99Ms)).length;
  return `median ${pct(p99s, 0.5)} / p95 ${pct(p99s, 0.95)} / max ${Math.max(0, ...p99s)} ms, above ${GENERATOR_LIMITS.eventLoopP99Ms} ms in ${slow} of ${phase.length} s`;
};

console.log('\n--- irc network benchmark (chat-network-100k) ---');
console.log(`${new Date().toISOString()}; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average at start ${loadAtStart}, at end ${load()}`);
console.log(`exit code ${exitCode}; wall ${f1(wallSeconds)} s; ramp ${ramp.length} s, hold ${hold.length} s`);
console.log(`users requested ${s.users.requested}, peak online ${s.users.peakOnline}, logon failures ${s.users.logonFailures}, drops (disconnects) ${s.users.disconnects}`);
console.log(`errors ${s.errors.total} ${JSON.stringify(s.errors.byKind)}`);
console.log(
  `messages: IMs sent ${s.messages.sent}, channel ${s.messages.channelSent}; deliveries expected ${s.messages.expected}, delivered ${s.messages.delivered}, lost ${s.messages.lost}, duplicates ${s.messages.duplicates}, misrouted ${s.messages.misrouted}, undeliverable ${s.messages.undeliverable}`,
);
const c = s.crossCheck;
console.log(c ? `global LUSERS (266) ${c.serverOnline} vs imload online ${c.imloadOnline} at ${new Date(c.at).toISOString()}: ${c.match ? 'equal' : 'DIFFERENT'}` : 'cross-check: none made');
const lat = (name: string, l: { count: number; p50: number; p95: number; p99: number } | undefined) =>
  l ? `${name} n=${l.count} p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} ms` : `${name} —`;
console.log([lat('logon', s.latency.logon), lat('delivery', s.latency.delivery)].join('; '));
console.log([lat('same-server', s.latency.deliverySameServer), lat('cross-server', s.latency.deliveryCrossServer)].join('; '));
console.log(`host CPU (% of all ${seconds[0]?.host?.cores ?? '?'} cores): ramp mean ${f1(mean(hostCpu(ramp)))} p95 ${f1(pct(hostCpu(ramp), 0.95))}; hold mean ${f1(mean(hostCpu(hold)))} p95 ${f1(pct(hostCpu(hold), 0.95))}`);
console.log(
  `generator: ${s.generator.workers} workers; ${describeRssPerVu(s.generator)} above the workers' start-up RSS (target ≤ 10 KiB); all-in ${(rssAt(peak) / 2 ** 20).toFixed(0)} MiB at ${vusAt(peak)} VUs = ${f1(rssAt(peak) / vusAt(peak) / 1024)} KiB/VU`,
);
console.log(`generator event loop: per-second p99 during hold median ${pct(loopP99s, 0.5)} / p95 ${pct(loopP99s, 0.95)} / p99 ${pct(loopP99s, 0.99)} ms; worst second ${s.generator.eventLoopP99} ms`);
console.log(`generator event loop per phase (per-second worker p99s): ramp ${loopOf(ramp)}; hold ${loopOf(hold)}; ramp-down ${loopOf(rampDown)}`);
console.log(`host CPU ramp-down mean ${f1(mean(hostCpu(rampDown)))} p95 ${f1(pct(hostCpu(rampDown), 0.95))}; host busy (≥ 95 %) seconds: ramp ${hostCpu(ramp).filter((x) => x >= 95).length}, hold ${hostCpu(hold).filter((x) => x >= 95).length}, ramp-down ${hostCpu(rampDown).filter((x) => x >= 95).length}`);
console.log(`generator CPU per worker (% of a core): ramp mean ${f1(mean(workerCpu(ramp)))}, hold mean ${f1(mean(workerCpu(hold)))}; peak open files ${Math.max(...s.generator.perWorker.map((w) => w.openFds))} in one worker`);
console.log(`generator bottleneck: ${s.generator.bottleneck ? s.generator.reasons.join('; ') : 'no'}`);
console.log(`coordinator (link proxies, journal): ${f1(((coordinatorCpu.user + coordinatorCpu.system) / 1e6 / wallSeconds) * 100)} % of a core over the run`);
const serverRss = seconds.flatMap((e) => (e.server ? [e.server.rssBytes] : []));
console.log(
  `servers (6 InspIRCd together): CPU ramp mean ${f1(mean(serverCpu(ramp)))} %, hold mean ${f1(mean(serverCpu(hold)))} % max ${f1(Math.max(0, ...serverCpu(hold)))} % of a core; RSS peak ${f1(Math.max(0, ...serverRss) / 2 ** 20)} MiB`,
);
console.log(`link traffic: ${s.notes.find((n) => n.key === 'network-links')?.text ?? 'not reported'}`);
console.log(`thresholds: ${s.thresholds.map((t) => `${t.metric} ${t.expression} (${t.actual}) ${t.ok ? 'ok' : 'FAILED'}`).join('; ')}`);
console.log(`run folder ${runDir}`);
