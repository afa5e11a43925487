/**
 * What the live page costs the generator (issue 20: live outputs ≤ 5 % more generator CPU at
 * 20,000 IRC users). Interleaved runs of the same seeded scenario (chat-20k, users and hold
 * overridden) against one lab InspIRCd, with and without `--dashboard`; with it, one page is
 * connected the whole run (an in-process SSE client: without a page the server builds nothing).
 *
 * Generator CPU of a run = the workers' CPU (their per-second health samples in the journal)
 * + this process's CPU while the run went (the coordinator, where the live page's builds and
 * server run; the SSE client's reading is counted too, which only makes the figure pessimistic).
 * Prints each run and the medians.
 *
 *   node --import tsx bench/live-overhead.bench.ts [--users 20000] [--duration 2m] [--pairs 5]
 */
import { mkdtempSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand } from '../src/commands/run.js';
import { startInspircd } from '../src/protocols/irc/lab.js';
import { readJournal, type JournalSecond } from '../src/metrics/journal.js';

const { values } = parseArgs({ options: { users: { type: 'string', default: '20000' }, duration: { type: 'string', default: '2m' }, pairs: { type: 'string', default: '5' } } });
const users = Number(values.users);
const pairs = Number(values.pairs);
const server = await startInspircd();
const base = mkdtempSync(join(tmpdir(), 'imload-live-bench-'));

interface Sample {
  readonly dashboard: boolean;
  readonly workerCpuS: number;
  readonly coordinatorCpuS: number;
  readonly totalCpuS: number;
  readonly peakOnline: number;
  readonly events: number;
}

async function once(i: number, dashboard: boolean): Promise<Sample> {
  let events = 0;
  let client: ReturnType<typeof get> | undefined;
  const cpu0 = process.cpuUsage();
  const { runDir, result } = await runCommand({
    file: 'scenarios.yaml',
    scenario: 'chat-20k',
    targets: [`lab-inspircd=${server.url}`],
    users,
    duration: values.duration,
    quiet: true,
    record: false,
    out: join(base, `run-${i}-${dashboard ? 'live' : 'plain'}`),
    signal: new AbortController().signal,
    dashboard: dashboard ? '127.0.0.1:0' : undefined,
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
  return { dashboard, workerCpuS, coordinatorCpuS, totalCpuS: workerCpuS + coordinatorCpuS, peakOnline: result.summary.users.peakOnline, events };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const samples: Sample[] = [];
try {
  for (let i = 0; i < pairs; i++) {
    // Alternate which goes first, so drift on a shared machine falls on both alike.
    for (const dashboard of i % 2 === 0 ? [false, true] : [true, false]) {
      const s = await once(i, dashboard);
      samples.push(s);
      console.log(`pair ${i + 1} ${dashboard ? 'dashboard' : 'plain    '}  workers ${s.workerCpuS.toFixed(2)} s  coordinator ${s.coordinatorCpuS.toFixed(2)} s  total ${s.totalCpuS.toFixed(2)} s  peak online ${s.peakOnline}  events ${s.events}`);
    }
  }
} finally {
  await server.stop();
}
const plain = median(samples.filter((s) => !s.dashboard).map((s) => s.totalCpuS));
const live = median(samples.filter((s) => s.dashboard).map((s) => s.totalCpuS));
const plainCoord = median(samples.filter((s) => !s.dashboard).map((s) => s.coordinatorCpuS));
const liveCoord = median(samples.filter((s) => s.dashboard).map((s) => s.coordinatorCpuS));
console.log(`median generator CPU: plain ${plain.toFixed(2)} s, dashboard ${live.toFixed(2)} s: ${(((live - plain) / plain) * 100).toFixed(1)} % more (target ≤ 5 %)`);
console.log(`median coordinator CPU: plain ${plainCoord.toFixed(2)} s, dashboard ${liveCoord.toFixed(2)} s`);
