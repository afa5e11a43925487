/**
 * What `--out prometheus=…?native=1` costs the generator: interleaved lab runs (InspIRCd) with
 * and without it, the same seeded scenario; per run the coordinator's CPU (this process,
 * process.cpuUsage over runCommand: it encodes and sends) plus the workers' CPU (their journaled
 * cpuPercent, summed over the seconds), medians per variant. Prometheus is the lab's
 * (src/lab/prometheus.ts), on the same host: its own CPU is not counted.
 *
 *   node --import tsx bench/outputs-overhead.bench.ts [--users 20000] [--hold 60s] [--rounds 5]
 *
 * Issue 20's target: ≤ 5 % more generator CPU at 20,000 IRC users, median of ≥ 5 interleaved runs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand } from '../src/commands/run.js';
import { readJournal, type JournalSecond } from '../src/metrics/journal.js';
import { startPrometheus } from '../src/lab/prometheus.js';

const { values } = parseArgs({ options: { users: { type: 'string', default: '20000' }, hold: { type: 'string', default: '60s' }, rounds: { type: 'string', default: '5' } } });
const users = Number(values.users);
const rounds = Number(values.rounds);
const rate = Math.max(50, Math.ceil(users / 20));
const dir = mkdtempSync(join(tmpdir(), 'imload-bench-outputs-'));
const file = join(dir, 'scenarios.yaml');
writeFileSync(
  file,
  `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  overhead:
    description: ${users} chat users (outputs overhead bench)
    target: chat
    seed: 5
    timeScale: 1
    population:
      users: ${users}
      channels: { count: ${Math.max(2, Math.ceil(users / 50))}, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: ${rate} }
      - { phase: hold, duration: ${values.hold} }
      - { phase: rampDown, rate: ${rate} }
    behaviour:
      messagesPerHour: 6
      channelMessagesPerHour: 4
      activityStart: rampUpEnd
`,
);

const prometheus = await startPrometheus();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const results: Record<'without' | 'with', Array<{ coordinator: number; workers: number; total: number }>> = { without: [], with: [] };
try {
  for (let round = 1; round <= rounds; round++) {
    // Alternate which goes first, so drift on a shared host falls on both.
    const order: Array<'without' | 'with'> = round % 2 ? ['without', 'with'] : ['with', 'without'];
    for (const variant of order) {
      const cpu = process.cpuUsage();
      const { runDir, result } = await runCommand({
        file,
        scenario: 'overhead',
        lab: true,
        quiet: true,
        out: join(dir, `${variant}-${round}`),
        outputs: variant === 'with' ? [`prometheus=${prometheus.writeUrl}?native=1`] : [],
        record: false,
        signal: new AbortController().signal,
      });
      const used = process.cpuUsage(cpu);
      const coordinator = (used.user + used.system) / 1e6;
      const seconds = readJournal(join(runDir, 'journal.ndjson')).filter((e): e is JournalSecond => e.type === 'second');
      const workers = seconds.reduce((sum, s) => sum + s.health.reduce((w, h) => w + h.cpuPercent / 100, 0), 0);
      const failed = result.outputs?.reduce((n, o) => n + o.failed, 0) ?? 0;
      results[variant].push({ coordinator, workers, total: coordinator + workers });
      process.stdout.write(`round ${round} ${variant.padEnd(7)}: coordinator ${coordinator.toFixed(2)} s, workers ${workers.toFixed(2)} core-s, total ${(coordinator + workers).toFixed(2)}; peak online ${result.summary.users.peakOnline}${failed ? `; ${failed} seconds not delivered` : ''}\n`);
    }
  }
} finally {
  await prometheus.stop();
}
const m = (variant: 'without' | 'with', key: 'coordinator' | 'workers' | 'total') => median(results[variant].map((r) => r[key]));
for (const key of ['coordinator', 'workers', 'total'] as const) {
  process.stdout.write(`median ${key.padEnd(11)}: without ${m('without', key).toFixed(2)}, with ${m('with', key).toFixed(2)} (${((m('with', key) / m('without', key) - 1) * 100).toFixed(1)} %)\n`);
}
