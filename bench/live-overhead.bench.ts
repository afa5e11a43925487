/**
 * What watching a run live costs the generator (issue 20: "exporting every second to Prometheus
 * and serving the live page cost ≤ 5 % more generator CPU than a run without them, at 20,000 IRC
 * users, median of at least five interleaved runs with and without").
 *
 * Pairs of runs of the same seeded scenario (chat-20k: 19,900 users, 1,000 logons/s; its hold
 * set by --duration) against one lab InspIRCd, one run plain and one with
 * `--out prometheus=…?native=1` (a lab Prometheus 2.42 receiving) and `--dashboard` with one page
 * connected the whole run (an in-process SSE client: without a page the live page builds nothing).
 * `--variant prometheus` or `--variant dashboard` measures one of the two alone.
 *
 * Generator CPU of a run = the workers' CPU (their per-second health in the journal) + this
 * process's CPU over the run (the coordinator, where the outputs encode and send and the live
 * page builds; the SSE client's reading is counted too, which only makes the figure pessimistic).
 * Prometheus's own CPU is not counted: it is the receiver, not the generator.
 *
 * On a shared machine, run a pair or two per invocation (each under the lock) with --record
 * FILE: samples are appended to FILE, the order of each pair alternates with the pairs already
 * there, and the medians printed are over every pair in FILE.
 *
 *   node --import tsx bench/live-overhead.bench.ts [--users 19900] [--duration 30s] [--pairs 5] [--variant both] [--record FILE]
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand } from '../src/commands/run.js';
import { startInspircd } from '../src/protocols/irc/lab.js';
import { startPrometheus } from '../src/lab/prometheus.js';
import { readJournal, type JournalSecond } from '../src/metrics/journal.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '19900' },
    duration: { type: 'string', default: '30s' },
    pairs: { type: 'string', default: '5' },
    variant: { type: 'string', default: 'both' },
    record: { type: 'string' },
  },
});
const VARIANTS = ['both', 'prometheus', 'dashboard'] as const;
type Variant = (typeof VARIANTS)[number];
const variant = values.variant as Variant;
if (!VARIANTS.includes(variant)) throw new Error(`--variant: one of ${VARIANTS.join(', ')}`);
const users = Number(values.users);
const pairs = Number(values.pairs);

interface Sample {
  readonly live: boolean;
  readonly variant: Variant;
  readonly users: number;
  readonly workerCpuS: number;
  readonly coordinatorCpuS: number;
  readonly totalCpuS: number;
  readonly peakOnline: number;
  readonly events: number;
  readonly sent: number;
  readonly failed: number;
  readonly seconds: number;
  readonly load: number;
  readonly at: string;
}

const recorded: Sample[] = values.record && existsSync(values.record)
  ? readFileSync(values.record, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Sample).filter((s) => s.variant === variant && s.users === users)
  : [];

const server = await startInspircd();
const prometheus = variant === 'dashboard' ? undefined : await startPrometheus();
const base = mkdtempSync(join(tmpdir(), 'imload-live-bench-'));

async function once(name: string, live: boolean): Promise<Sample> {
  let events = 0;
  let client: ReturnType<typeof get> | undefined;
  const load = loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const { runDir, result } = await runCommand({
    file: 'scenarios.yaml',
    scenario: 'chat-20k',
    targets: [`lab-inspircd=${server.url}`],
    users,
    duration: values.duration,
    quiet: true,
    record: false,
    out: join(base, name),
    signal: new AbortController().signal,
    outputs: live && prometheus ? [`prometheus=${prometheus.writeUrl}?native=1`] : [],
    dashboard: live && variant !== 'prometheus' ? '127.0.0.1:0' : undefined,
    onDashboard: (url) => {
      client = get(new URL('events', url), (response) => response.on('data', (chunk: Buffer) => (events += (chunk.toString().match(/^event: /gm) ?? []).length)));
      client.on('error', () => {});
    },
  });
  const cpu = process.cpuUsage(cpu0);
  client?.destroy();
  const seconds = readJournal(join(runDir, 'journal.ndjson')).filter((e): e is JournalSecond => e.type === 'second');
  const workerCpuS = seconds.reduce((sum, s) => sum + s.health.reduce((a, h) => a + h.cpuPercent / 100, 0), 0);
  const coordinatorCpuS = (cpu.user + cpu.system) / 1e6;
  const prom = result.outputs?.find((o) => o.description.startsWith('prometheus'));
  return {
    live,
    variant,
    users,
    workerCpuS,
    coordinatorCpuS,
    totalCpuS: workerCpuS + coordinatorCpuS,
    peakOnline: result.summary.users.peakOnline,
    events,
    sent: prom?.sent ?? 0,
    failed: prom?.failed ?? 0,
    seconds: seconds.length,
    load,
    at: new Date().toISOString(),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const show = (s: Sample) =>
  `${s.live ? `with ${variant}`.padEnd(15) : 'plain'.padEnd(15)} workers ${s.workerCpuS.toFixed(2)} s  coordinator ${s.coordinatorCpuS.toFixed(2)} s  total ${s.totalCpuS.toFixed(2)} s  peak online ${s.peakOnline}  seconds ${s.seconds}  events ${s.events}  remote-write ${s.sent} sent / ${s.failed} failed  load ${s.load.toFixed(2)}`;

const samples: Sample[] = [...recorded];
try {
  for (let i = 0; i < pairs; i++) {
    // Alternate which goes first (counting the pairs already recorded), so drift on a shared machine falls on both alike.
    const pair = Math.floor(samples.length / 2);
    for (const live of pair % 2 === 0 ? [false, true] : [true, false]) {
      const s = await once(`pair-${pair + 1}-${live ? 'live' : 'plain'}`, live);
      samples.push(s);
      if (values.record) appendFileSync(values.record, `${JSON.stringify(s)}\n`);
      console.log(`pair ${pair + 1} ${show(s)}`);
    }
  }
} finally {
  await prometheus?.stop();
  await server.stop();
}
const m = (live: boolean, key: 'totalCpuS' | 'workerCpuS' | 'coordinatorCpuS') => median(samples.filter((s) => s.live === live).map((s) => s[key]));
const n = samples.filter((s) => s.live).length;
for (const key of ['workerCpuS', 'coordinatorCpuS', 'totalCpuS'] as const) {
  console.log(`median ${key.replace('CpuS', '').padEnd(11)} over ${n} pairs: plain ${m(false, key).toFixed(2)} s, with ${variant} ${m(true, key).toFixed(2)} s (${((m(true, key) / m(false, key) - 1) * 100).toFixed(1)} %)`);
}
const ratios = Array.from({ length: n }, (_, i) => samples.slice(2 * i, 2 * i + 2)).map((pair) => pair.find((s) => s.live)!.totalCpuS / pair.find((s) => !s.live)!.totalCpuS - 1);
console.log(`median of the per-pair ratios (total): ${(median(ratios) * 100).toFixed(1)} % (target ≤ 5 %)`);
