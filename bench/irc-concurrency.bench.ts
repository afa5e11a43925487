/**
 * IRC concurrency: as many users as one lab InspIRCd holds here (chat-20k: 19,900), documented
 * workload, held for the scenario's hold (10 minutes). Prints drops, generator RSS per VU
 * (target ≤ 16 KiB), event-loop delay p99 (target ≤ 20 ms), logon and delivery percentiles,
 * and the server's own RSS and CPU.
 *
 *   node --import tsx bench/irc-concurrency.bench.ts [--users N] [--duration 10m]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCommand } from '../src/commands/run.js';
import { startInspircd } from '../src/protocols/irc/lab.js';
import { readJournal, type JournalSecond } from '../src/metrics/journal.js';
import { describeRssPerVu } from '../src/analysis/generator.js';

const { values } = parseArgs({ options: { users: { type: 'string' }, duration: { type: 'string' } } });
const server = await startInspircd();
const ticks = 100; // USER_HZ: /proc CPU times are in 1/100 s on Linux
const serverSamples: Array<{ rss: number; cpu: number }> = [];
let lastCpu = cpuTicks(server.pid);
const sampler = setInterval(() => {
  const cpu = cpuTicks(server.pid);
  serverSamples.push({ rss: rssKiB(server.pid), cpu: ((cpu - lastCpu) / ticks / 5) * 100 });
  lastCpu = cpu;
}, 5000);

let runDir = '';
try {
  const { result, runDir: dir } = await runCommand({
    file: 'scenarios.yaml',
    scenario: 'chat-20k',
    targets: [`lab-inspircd=${server.url}`],
    users: values.users ? Number(values.users) : undefined,
    duration: values.duration,
    quiet: false,
  });
  runDir = dir;
  const s = result.summary;
  const seconds = readJournal(`${dir}/journal.ndjson`).filter((e): e is JournalSecond => e.type === 'second');
  // Marginal memory per VU: RSS growth between an early second and the peak, over the VUs added.
  const rssAt = (e: JournalSecond) => e.health.reduce((n, h) => n + h.rssBytes, 0);
  const vusAt = (e: JournalSecond) => e.health.reduce((n, h) => n + h.vus, 0);
  const peak = seconds.reduce((best, e) => (vusAt(e) >= vusAt(best) ? e : best), seconds[0]!);
  const hold = seconds.filter((e) => e.phase === 'hold');
  const loopP99s = hold.flatMap((e) => e.health.map((h) => h.eventLoopP99)).sort((a, b) => a - b);
  const holdLoopP99 = loopP99s[Math.floor(loopP99s.length * 0.99)] ?? 0;
  console.log('\n--- irc concurrency benchmark ---');
  console.log(`users requested ${s.users.requested}, peak online ${s.users.peakOnline}, logon failures ${s.users.logonFailures}, disconnects (drops) ${s.users.disconnects}`);
  console.log(`errors ${JSON.stringify(s.errors.byKind)}`);
  console.log(`hold seconds ${hold.length}; online at end of hold ${hold.at(-1)?.online}`);
  console.log(`logon p50 ${s.latency.logon.p50} ms p95 ${s.latency.logon.p95} ms p99 ${s.latency.logon.p99} ms; delivery p50 ${s.latency.delivery.p50} ms p99 ${s.latency.delivery.p99} ms (n=${s.latency.delivery.count}); lost ${s.messages.lost}`);
  console.log(`generator: ${s.generator.workers} workers; RSS total ${(rssAt(peak) / 2 ** 20).toFixed(0)} MiB at ${vusAt(peak)} VUs = ${(rssAt(peak) / vusAt(peak) / 1024).toFixed(1)} KiB/VU all-in; above the workers' start-up RSS: ${describeRssPerVu(s.generator)} (target ≤ 16 KiB)`);
  console.log(`event-loop delay: p99 of per-second p99s during hold ${holdLoopP99} ms; worst second ${s.generator.eventLoopP99} ms`);
  const serverPeak = Math.max(...serverSamples.map((x) => x.rss));
  const serverCpu = serverSamples.map((x) => x.cpu);
  console.log(`server: InspIRCd RSS peak ${(serverPeak / 1024).toFixed(1)} MiB; CPU mean ${(serverCpu.reduce((a, b) => a + b, 0) / serverCpu.length).toFixed(1)} % max ${Math.max(...serverCpu).toFixed(1)} % of a core`);
  console.log(`run folder ${runDir}`);
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
