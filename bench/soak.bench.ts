/**
 * Long runs stay flat (issue 19): a one-hour real-time hold at chat-20k's workload (19,900 IRC
 * users — one lab InspIRCd's limit here — 3 IMs and 2 channel messages per user-hour, 20
 * contacts). Target: a least-squares line fitted to the generator's RSS over the hold — the
 * workers' summed and the coordinator's (journaled as host.coordinatorRssBytes; journals from
 * before it have the workers' only) — rises less than 1 % of its mean per hour, fitted from the
 * second by which every worker has run its
 * one collection at the ramp's end (the report's RSS-per-VU window), since the logon burst's
 * garbage, collected in the hold's first seconds, would otherwise tilt the line down and hide a
 * climb (the whole hold's fit is printed beside it). Also prints the event-loop delay over the hold, the
 * report's RSS per VU, the server's RSS at the start and end of the hold, and what the workers' and the
 * coordinator's memory is made of (V8's spaces and native memory, sampled once a minute: bench/memory-probe.mjs),
 * and each process's full collections over the hold (the probe's gc log).
 *
 *   node --import tsx bench/soak.bench.ts [--hold 60m] [--users 19900] [--lock /tmp/imload-integration.lock] [--lock-wait 15m]
 *
 * The ramp is the only heavy part (about 20,000 logons and their joins); the hold is ~30
 * messages/s. So the bench holds the shared benchmark lock (`flock`) from before the ramp until
 * the hold has begun with everybody online, then lets it go; if the lock is not free within
 * --lock-wait it runs without it and says so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runCommand } from '../src/commands/run.js';
import { readJournal, type JournalHeader, type JournalSecond } from '../src/metrics/journal.js';
import { describeRssPerVu } from '../src/analysis/generator.js';
import { durationMs } from '../src/metrics/duration.js';

const { values } = parseArgs({
  options: {
    hold: { type: 'string', default: '60m' },
    users: { type: 'string' },
    lock: { type: 'string', default: '/tmp/imload-integration.lock' },
    'lock-wait': { type: 'string', default: '15m' },
  },
});
const TARGET_PERCENT_PER_HOUR = 1;

/** A least-squares line through (x, y): slope and mean of y. */
function fitLine(points: ReadonlyArray<{ x: number; y: number }>): { slope: number; intercept: number; meanY: number } {
  const n = points.length;
  const meanX = points.reduce((s, p) => s + p.x, 0) / n;
  const meanY = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - meanX) * (p.y - meanY);
    sxx += (p.x - meanX) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: meanY - slope * meanX, meanY };
}

/** Holds `lock` through a `flock` child until release(); null when it was not free within waitMs. */
async function takeLock(path: string, waitMs: number): Promise<{ release: () => void } | null> {
  // flock runs `cat` once it holds the lock; cat ends (and the lock goes) when its stdin closes.
  const child: ChildProcess = spawn('flock', ['-w', String(Math.round(waitMs / 1000)), path, 'sh', '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const got = await new Promise<boolean>((resolve) => {
    child.stdout!.once('data', () => resolve(true));
    child.once('exit', () => resolve(false));
  });
  if (!got) return null;
  return { release: () => child.stdin!.end() };
}

/** The last complete `second` record of a journal being written (reads only its tail). */
function lastSecond(path: string): JournalSecond | null {
  if (!existsSync(path)) return null;
  const size = statSync(path).size;
  // A second's entry is 1.5–4 KB at this load: 64 KiB holds several.
  const length = Math.min(size, 64 * 1024);
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const lines = buffer.toString('utf8').split('\n').slice(1, -1).reverse();
  for (const line of lines) {
    if (!line.startsWith('{"type":"second"')) continue;
    return JSON.parse(line) as JournalSecond;
  }
  return null;
}

const loads: Array<{ at: string; load: number[] }> = [];
const noteLoad = () => loads.push({ at: new Date().toISOString().slice(11, 16), load: loadavg().map((l) => +l.toFixed(2)) });
noteLoad();
const started = new Date().toISOString();
const lock = await takeLock(values.lock, durationMs(values['lock-wait']));
console.log(lock ? `${new Date().toISOString()} holding ${values.lock} for the ramp` : `${new Date().toISOString()} ${values.lock} not free within ${values['lock-wait']}: running without it`);
const runDir = `reports/${started.replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}-soak`;
const users = values.users ? Number(values.users) : 19_900;
let lockReleasedAt: string | null = null;
// Let the lock go once the journal says the hold has begun with everybody online (or 3 minutes into the hold
// regardless), then stop looking: the coordinator is this process and is fitted with the workers, and reading
// the journal's tail every second of the hour (256 KiB then: a buffer and a string a second) was the bench's own
// churn in the figure it measures.
const watcher = lock
  ? setInterval(() => {
      const second = lastSecond(`${runDir}/journal.ndjson`);
      if (second?.phase === 'hold' && (second.online >= users || second.t > 240)) {
        clearInterval(watcher);
        lock.release();
        lockReleasedAt = new Date().toISOString();
        console.log(`${lockReleasedAt} hold under way (t=${second.t} s, ${second.online} online): lock released`);
      }
    }, 1000)
  : undefined;

const loadSampler = setInterval(noteLoad, 10 * 60_000);

// What a worker's RSS is made of, once a minute (bench/memory-probe.mjs, preloaded into the workers), so a
// climb can be put down to V8's heap, its committed-but-unused pages, or native memory outside it.
const probeDir = mkdtempSync(`${tmpdir()}/imload-soak-memory-`);
process.env.IMLOAD_MEMORY_PROBE_DIR = probeDir;
process.env.IMLOAD_WORKER_NODE_FLAGS = [process.env.IMLOAD_WORKER_NODE_FLAGS ?? '', `--import=${new URL('./memory-probe.mjs', import.meta.url).href}`].join(' ').trim();
// The coordinator is this process (runCommand in-process): probed the same way, into its own file, so the
// part of the generator's slope that is the coordinator's can be put down to a component as the workers' is.
await import(new URL('./memory-probe.mjs', import.meta.url).href);
const COORDINATOR_PROBE = `mem-${process.pid}.ndjson`;

interface ProbeSample {
  readonly at: number;
  readonly rss: number;
  readonly rssAnon: number;
  readonly rssFile: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly heapPhysical: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly v8Malloced: number;
  readonly spaces: Record<string, { committed: number; used: number; physical: number }>;
}

/**
 * Per component, the workers' summed samples (or the coordinator's) inside [fromMs, toMs], fitted: MiB/hour
 * and % of the mean per hour.
 */
function probeSlopes(fromMs: number, toMs: number, of: 'workers' | 'coordinator'): string[] {
  const files = readdirSync(probeDir).filter((f) => f.startsWith('mem-') && (f === COORDINATOR_PROBE) === (of === 'coordinator'));
  const perWorker = files.map((f) => readFileSync(`${probeDir}/${f}`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ProbeSample).filter((p) => p.at >= fromMs && p.at <= toMs));
  const rows = Math.min(...perWorker.map((w) => w.length));
  if (files.length === 0 || rows < 3) return [`memory probe: too few samples in the hold (${rows})`];
  const space = (p: ProbeSample, name: string, key: 'committed' | 'used' | 'physical') => p.spaces[name]?.[key] ?? 0;
  const components: Array<[string, (p: ProbeSample) => number]> = [
    ['RSS', (p) => p.rss],
    ['RSS anonymous', (p) => p.rssAnon],
    ['RSS file-backed', (p) => p.rssFile],
    ['V8 heap physical', (p) => p.heapPhysical],
    ['V8 heap used', (p) => p.heapUsed],
    ['old space committed', (p) => space(p, 'old_space', 'committed')],
    ['old space used', (p) => space(p, 'old_space', 'used')],
    ['new space committed', (p) => space(p, 'new_space', 'committed')],
    ['code space committed', (p) => space(p, 'code_space', 'committed')],
    ['large objects committed', (p) => space(p, 'large_object_space', 'committed')],
    ['external (incl. ArrayBuffers)', (p) => p.external],
    ['V8 malloced', (p) => p.v8Malloced],
    ['RSS outside V8 heap (RSS − heap physical − external)', (p) => p.rss - p.heapPhysical - p.external],
  ];
  const t0 = perWorker[0]![0]!.at;
  return components.map(([name, of]) => {
    const points = Array.from({ length: rows }, (_, i) => ({ x: (perWorker[0]![i]!.at - t0) / 1000, y: perWorker.reduce((n, w) => n + of(w[i]!), 0) }));
    const fit = fitLine(points);
    const mib = (fit.slope * 3600) / 2 ** 20;
    return `  ${name}: mean ${(fit.meanY / 2 ** 20).toFixed(1)} MiB, slope ${mib >= 0 ? '+' : ''}${mib.toFixed(2)} MiB/h (${fit.meanY === 0 ? 'n/a' : `${((mib * 2 ** 20 * 100) / fit.meanY).toFixed(2)} %/h`}), first ${(points[0]!.y / 2 ** 20).toFixed(1)} → last ${(points.at(-1)!.y / 2 ** 20).toFixed(1)}`;
  });
}

interface FullCollection {
  readonly at: number;
  readonly ms: number;
  readonly flags: number;
  readonly oldCommitted: number;
  readonly oldUsed: number;
}

/**
 * Each process's full collections inside [fromMs, toMs], one line a process (the coordinator first): minute of the
 * hold, pause, and old space committed / live just after, MiB — where a step in the old space's committed pages
 * came from, and which were V8's memory reducer's (`flags` 32: kGCCallbackFlagCollectAllExternalMemory).
 */
function fullCollections(fromMs: number, toMs: number): string[] {
  const coordinator = `gc-${process.pid}.ndjson`;
  const files = readdirSync(probeDir).filter((f) => f.startsWith('gc-')).sort((a, b) => Number(b === coordinator) - Number(a === coordinator));
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  return files.map((f) => {
    const collections = readFileSync(`${probeDir}/${f}`, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as FullCollection).filter((c) => c.at >= fromMs && c.at <= toMs);
    const who = f === coordinator ? 'coordinator' : `worker pid ${f.slice(3, -7)}`;
    const list = collections.map((c) => `${((c.at - fromMs) / 60_000).toFixed(1)}m ${c.ms.toFixed(0)} ms ${mib(c.oldCommitted)}/${mib(c.oldUsed)}${c.flags & 32 ? ' (reducer)' : ''}`);
    return `  ${who}: ${collections.length === 0 ? 'none' : list.join('; ')}`;
  });
}

try {
  const { result } = await runCommand({ file: 'scenarios.yaml', scenario: 'chat-20k', lab: true, users, duration: values.hold, out: runDir, quiet: true });
  noteLoad();
  const s = result.summary;
  const journal = readJournal(`${runDir}/journal.ndjson`);
  const header = journal.find((e): e is JournalHeader => e.type === 'header')!;
  const seconds = journal.filter((e): e is JournalSecond => e.type === 'second');
  const hold = seconds.filter((e) => e.phase === 'hold' && e.health.length > 0);
  const workers = Math.max(...hold.map((e) => e.health.length));
  const collected = new Set<number>();
  let collectedAt: number | undefined;
  for (const e of seconds) {
    for (const h of e.health) if (h.rampCollection) collected.add(h.worker);
    if (collected.size === workers) {
      collectedAt = e.t;
      break;
    }
  }
  const workersRss = (e: JournalSecond) => e.health.reduce((n, h) => n + h.rssBytes, 0);
  const coordinatorSampled = hold.every((e) => e.host?.coordinatorRssBytes !== undefined);
  const wholeHold = hold.map((e) => ({ x: e.t, y: workersRss(e) + (e.host?.coordinatorRssBytes ?? 0) }));
  const rss = collectedAt === undefined ? wholeHold : wholeHold.filter((p) => p.x > collectedAt!);
  const fit = fitLine(rss);
  const percentPerHour = ((fit.slope * 3600) / fit.meanY) * 100;
  const wholeFit = fitLine(wholeHold);
  const half = Math.floor(rss.length / 2);
  const meanOf = (xs: typeof rss) => xs.reduce((n, p) => n + p.y, 0) / xs.length / 2 ** 20;
  const loopP99s = hold.map((e) => Math.max(...e.health.map((h) => h.eventLoopP99))).sort((a, b) => a - b);
  const at = (q: number) => loopP99s[Math.min(loopP99s.length - 1, Math.floor(loopP99s.length * q))] ?? 0;
  const serverMiB = (e: JournalSecond | undefined) => (e?.server ? (e.server.rssBytes / 2 ** 20).toFixed(1) : 'n/a');
  console.log('\n--- soak benchmark ---');
  console.log(`started ${started}, ended ${new Date().toISOString()}; lock ${lock ? `held for the ramp, released ${lockReleasedAt}` : 'not taken'}`);
  console.log(`users requested ${s.users.requested}, peak online ${s.users.peakOnline}, logon failures ${s.users.logonFailures}, disconnects ${s.users.disconnects}; errors ${JSON.stringify(s.errors.byKind)}`);
  console.log(`hold ${hold.length} s (t=${hold[0]?.t}..${hold.at(-1)?.t}); online at its end ${hold.at(-1)?.online}`);
  console.log(`messages sent ${s.messages.sent}, delivered ${s.messages.delivered}, lost ${s.messages.lost}; delivery p50 ${s.latency.delivery.p50} ms p99 ${s.latency.delivery.p99} ms`);
  console.log(`generator RSS (${coordinatorSampled ? 'workers summed and the coordinator' : 'workers summed; this journal has no coordinator samples'}) over the hold: mean ${(fit.meanY / 2 ** 20).toFixed(1)} MiB, first half ${meanOf(rss.slice(0, half)).toFixed(1)} MiB, second half ${meanOf(rss.slice(half)).toFixed(1)} MiB, min ${(Math.min(...rss.map((p) => p.y)) / 2 ** 20).toFixed(1)}, max ${(Math.max(...rss.map((p) => p.y)) / 2 ** 20).toFixed(1)}`);
  console.log(collectedAt === undefined ? 'no ramp-end collection in the journal: the fit is over the whole hold' : `every worker's ramp-end collection done by t=${collectedAt} s; the fit runs from the next second (${rss.length} s)`);
  console.log(`least-squares slope ${((fit.slope * 3600) / 2 ** 20).toFixed(2)} MiB/hour = ${percentPerHour.toFixed(2)} % of the mean per hour (target < ${TARGET_PERCENT_PER_HOUR} %): ${percentPerHour < TARGET_PERCENT_PER_HOUR ? 'ok' : 'OVER'}`);
  if (coordinatorSampled) {
    // The two parts apart, over the same seconds: the workers' alone is what the earlier soaks fitted.
    const fitted = new Set(rss.map((p) => p.x));
    const inFit = hold.filter((e) => fitted.has(e.t));
    for (const [name, of] of [['workers summed', workersRss], ['coordinator', (e: JournalSecond) => e.host!.coordinatorRssBytes!]] as const) {
      const part = fitLine(inFit.map((e) => ({ x: e.t, y: of(e) })));
      console.log(`  ${name}: mean ${(part.meanY / 2 ** 20).toFixed(1)} MiB, slope ${((part.slope * 3600) / 2 ** 20).toFixed(2)} MiB/hour = ${(((part.slope * 3600) / part.meanY) * 100).toFixed(2)} % of its mean per hour`);
    }
  }
  console.log(`the same fit over the whole hold, the ramp's garbage included: ${(((wholeFit.slope * 3600) / wholeFit.meanY) * 100).toFixed(2)} % of its mean per hour`);
  // Informative only (the target is the whole hold): the same fit without the first 10 minutes, when heaps settle.
  const settled = rss.filter((p) => p.x - rss[0]!.x >= 600);
  if (settled.length > 600) {
    const late = fitLine(settled);
    console.log(`the same fit from 10 minutes into the hold: ${(((late.slope * 3600) / late.meanY) * 100).toFixed(2)} % of its mean (${(late.meanY / 2 ** 20).toFixed(1)} MiB) per hour`);
  }
  const holdStartMs = header.startEpochMs + rss[0]!.x * 1000;
  const holdEndMs = header.startEpochMs + hold.at(-1)!.t * 1000;
  console.log(`what the workers' memory is made of over the hold (bench/memory-probe.mjs, a sample a minute, workers summed; ${probeDir}):`);
  for (const line of probeSlopes(holdStartMs, holdEndMs, 'workers')) console.log(line);
  console.log('what the coordinator\'s memory is made of over the hold (this process, probed the same way):');
  for (const line of probeSlopes(holdStartMs, holdEndMs, 'coordinator')) console.log(line);
  console.log('full collections over the hold (minute, pause, old space committed/live MiB just after):');
  for (const line of fullCollections(holdStartMs, holdEndMs)) console.log(line);
  const cpuSeconds = hold.reduce((n, e) => n + e.health.reduce((m, h) => m + h.cpuPercent / 100, 0), 0);
  console.log(`generator CPU over the hold: ${cpuSeconds.toFixed(0)} s (${((cpuSeconds / hold.length) * 100).toFixed(1)} % of a core on average, workers summed)`);
  console.log(`event-loop delay over the hold, per-second p99 (worst worker): median ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${loopP99s.at(-1)} ms`);
  console.log(`report's RSS per VU: ${describeRssPerVu(s.generator)}`);
  console.log(`server (InspIRCd) RSS at the start of the hold ${serverMiB(hold[0])} MiB, at its end ${serverMiB(hold.at(-1))} MiB`);
  console.log(`load average (1/5/15 min) during the run: ${loads.map((l) => `${l.at} ${l.load.join('/')}`).join('; ')}`);
  console.log(`run folder ${runDir}`);
  if (percentPerHour >= TARGET_PERCENT_PER_HOUR) process.exitCode = 1;
} finally {
  clearInterval(watcher);
  clearInterval(loadSampler);
  if (lock && lockReleasedAt === null) lock.release();
}
