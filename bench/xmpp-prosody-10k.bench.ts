/**
 * XMPP concurrency (issue #18): 10,000 users with 20-contact rosters on one lab Prosody, held
 * for 10 minutes at a chat workload (chat messages, presence changes, MUC rooms of ~40). Rosters
 * are provisioned in bulk from the scenario's own plan before the first logon
 * (src/protocols/xmpp/provision.ts; SCRAM-SHA-1 keys with one salt, so the 10,000 accounts cost
 * one PBKDF2). Prints drops, errors, exact delivery and presence, the cross-check against
 * Prosody's own count, generator RSS per VU (the report's own figure, analysis/generator.ts),
 * event-loop delay, and Prosody's RSS and CPU.
 *
 *   node --import tsx bench/xmpp-prosody-10k.bench.ts [--users 10000] [--hold 10m] [--rate 10] [--workers 1]
 * The default ramp, 10 logons/s, is what one Prosody core takes on a shared 2-core host with every
 * logon's 20-item roster and presence probes (50/s saturated it; bench/RESULTS.md).
 * Short proof: --users 2000 --hold 1m
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, hostname, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runScenario } from '../src/engine/coordinator.js';
import { Scenario } from '../src/scenarios/schema.js';
import { WorkloadPlan } from '../src/scenarios/schedule.js';
import { readJournal, type JournalSecond } from '../src/metrics/journal.js';
import { describeRssPerVu } from '../src/analysis/generator.js';
import { startProsody } from '../src/protocols/xmpp/lab-prosody.js';
import { provisionAccounts } from '../src/protocols/xmpp/provision.js';
import type { AgentTarget } from '../src/protocols/types.js';

const { values } = parseArgs({
  options: { users: { type: 'string' }, hold: { type: 'string' }, rate: { type: 'string' }, workers: { type: 'string' } },
});
const users = Number(values.users ?? 10_000);
const hold = values.hold ?? '10m';
const rate = Number(values.rate ?? 10);
const workers = Number(values.workers ?? 1);
const PASSWORD_ENV = 'IMLOAD_BENCH_XMPP_PASSWORD';
const PASSWORD = 'bench-xmpp-secret';
process.env[PASSWORD_ENV] = PASSWORD;

const scenario = Scenario.parse({
  target: 'xmpp',
  seed: 10_000,
  timeScale: 1,
  population: { users, contacts: 20, channels: { count: Math.max(1, Math.round(users / 40)), perUser: { min: 1, max: 1 } } },
  phases: [
    { phase: 'rampUp', rate },
    { phase: 'hold', duration: hold },
    { phase: 'rampDown', rate: rate * 2 },
  ],
  behaviour: {
    messagesPerHour: 3,
    channelMessagesPerHour: 2,
    presenceChangesPerHour: 2,
    activityStart: 'rampUpEnd',
    logonTimeout: '30s',
  },
});

const domain = 'bench.test';
const server = await startProsody({ domain, accounts: [] });
const plan = new WorkloadPlan(scenario);
const population = Array.from({ length: users }, (_, i) => {
  const identity = plan.identity(i);
  return { name: identity.name, password: PASSWORD, contacts: identity.contacts };
});
const provisioned = await provisionAccounts('prosody', server.dataDir, domain, population, { passwordFormat: 'scram', salt: 'imload-bench-salt', iterations: 4096 });
console.log(`provisioned ${provisioned.accounts} accounts, ${provisioned.rosterItems} roster items in ${provisioned.ms} ms`);

const ticks = 100; // USER_HZ
const serverSamples: Array<{ rss: number; cpu: number }> = [];
let lastCpu = cpuTicks(server.pid);
const sampler = setInterval(() => {
  const cpu = cpuTicks(server.pid);
  serverSamples.push({ rss: rssKiB(server.pid), cpu: ((cpu - lastCpu) / ticks / 5) * 100 });
  lastCpu = cpu;
}, 5000);

const dir = mkdtempSync(join(tmpdir(), 'imload-bench-xmpp-'));
const target: AgentTarget = {
  name: 'xmpp',
  protocol: 'xmpp',
  host: server.host,
  port: server.port,
  transport: 'tcp',
  domain,
  tls: { ca: server.caFile, insecure: false },
  options: { prosodyConfig: server.configFile },
};
try {
  const started = Date.now();
  const result = await runScenario({
    header: {
      runId: 'xmpp-prosody-10k',
      scenarioName: 'xmpp-prosody-10k',
      scenarioFile: 'bench/xmpp-prosody-10k.bench.ts',
      scenario,
      seed: scenario.seed,
      target: { name: 'xmpp', url: server.url, protocol: 'xmpp' },
      segment: { index: 0, count: 1 },
      imloadVersion: 'bench',
      command: `node --import tsx bench/xmpp-prosody-10k.bench.ts --users ${users} --hold ${hold} --rate ${rate} --workers ${workers}`,
      host: { hostname: hostname(), cpus: cpus().length, memoryBytes: totalmem(), node: process.version },
      server: { kind: server.kind, version: server.version },
    },
    scenario,
    target,
    passwords: { target: { env: PASSWORD_ENV } },
    workers,
    journalPath: join(dir, 'journal.ndjson'),
    spreadSourceAddresses: false,
    signal: new AbortController().signal,
    serverPids: () => [server.pid],
  });
  const s = result.summary;
  const seconds = readJournal(join(dir, 'journal.ndjson')).filter((e): e is JournalSecond => e.type === 'second');
  const rssAt = (e: JournalSecond) => e.health.reduce((n, h) => n + h.rssBytes, 0);
  const vusAt = (e: JournalSecond) => e.health.reduce((n, h) => n + h.vus, 0);
  const peak = seconds.reduce((best, e) => (vusAt(e) >= vusAt(best) ? e : best), seconds[0]!);
  const holdSeconds = seconds.filter((e) => e.phase === 'hold');
  const loopP99s = holdSeconds.flatMap((e) => e.health.map((h) => h.eventLoopP99)).sort((a, b) => a - b);
  console.log('\n--- xmpp prosody concurrency benchmark ---');
  console.log(`run ${result.reason} in ${((Date.now() - started) / 1000).toFixed(0)} s; server ${server.version ?? 'prosody'}`);
  console.log(`users requested ${s.users.requested}, logon ok ${s.users.logonOk}, peak online ${s.users.peakOnline}, logon failures ${s.users.logonFailures}, disconnects (drops) ${s.users.disconnects}`);
  console.log(`errors ${JSON.stringify(s.errors.byKind)}`);
  console.log(`hold seconds ${holdSeconds.length}; online at end of hold ${holdSeconds.at(-1)?.online}`);
  console.log(`messages: sent ${s.messages.sent} chat + ${s.messages.channelSent} groupchat; delivered ${s.messages.delivered} / expected ${s.messages.expected}; lost ${s.messages.lost}, duplicates ${s.messages.duplicates}, unexpected ${s.messages.unexpected}`);
  console.log(`presence: changes ${s.presence.changes}, seen ${s.presence.seen} / expected ${s.presence.expected}; initial states ${s.presence.initialStates}`);
  console.log(`cross-check: Prosody says ${s.crossCheck?.serverOnline} online, imload ${s.crossCheck?.imloadOnline}`);
  console.log(`logon p50 ${s.latency.logon.p50} ms p95 ${s.latency.logon.p95} ms p99 ${s.latency.logon.p99} ms; delivery p50 ${s.latency.delivery.p50} ms p99 ${s.latency.delivery.p99} ms (n=${s.latency.delivery.count})`);
  console.log(
    `generator: ${s.generator.workers} worker(s); RSS total ${(rssAt(peak) / 2 ** 20).toFixed(0)} MiB at ${vusAt(peak)} VUs = ${(rssAt(peak) / Math.max(1, vusAt(peak)) / 1024).toFixed(1)} KiB/VU all-in; ` +
      `the report's figure: ${describeRssPerVu(s.generator)}`,
  );
  console.log(`event-loop delay: p99 of per-second p99s during hold ${loopP99s[Math.floor(loopP99s.length * 0.99)] ?? 0} ms; worst second ${s.generator.eventLoopP99} ms`);
  const serverPeak = Math.max(...serverSamples.map((x) => x.rss));
  const serverCpu = serverSamples.map((x) => x.cpu);
  console.log(`server: Prosody RSS peak ${(serverPeak / 1024).toFixed(1)} MiB; CPU mean ${(serverCpu.reduce((a, b) => a + b, 0) / Math.max(1, serverCpu.length)).toFixed(1)} % max ${Math.max(...serverCpu).toFixed(1)} % of a core`);
  console.log(`journal ${join(dir, 'journal.ndjson')}`);
} finally {
  clearInterval(sampler);
  await server.stop();
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/\d+/.exec(line ?? '')?.[0] ?? 0);
}
