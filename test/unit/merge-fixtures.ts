/**
 * Segment journals with known contents for the merge tests, written with the real JournalWriter
 * and MetricsRecorder (so histograms encode exactly as in a live run). Every user's events are a
 * pure function of its index, so the same population can be journaled whole or split N ways
 * (users by `usersOf`, as `run --segment` splits them) and the two must merge to one answer.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalWriter, type JournalEntry, type JournalHeader } from '../../src/metrics/journal.js';
import { MetricsRecorder } from '../../src/metrics/recorder.js';
import { readJournal } from '../../src/metrics/journal.js';
import { createHistogram, decodeHistogram, encodeHistogram, type Histogram } from '../../src/metrics/histogram.js';
import type { LatencyName } from '../../src/metrics/names.js';
import { usersOf } from '../../src/scenarios/schedule.js';

export interface FixtureRun {
  readonly users: number;
  readonly seconds: number;
  /** Which part this journal holds: index 0-based; count 1 for the whole run. */
  readonly segment: { readonly index: number; readonly count: number };
  readonly workers?: number;
  readonly seed?: number;
  readonly scenarioName?: string;
  readonly startEpochMs?: number;
  readonly endReason?: 'completed' | 'interrupted' | 'aborted' | 'failed' | null;
  /** The server's answer to the cross-check (null: no count), or undefined for no cross-check. */
  readonly serverOnline?: number | null;
  /** Delivery latency of user i's k-th message, ms. */
  readonly deliveryMs?: (user: number, k: number) => number;
}

export const FIXTURE_START = Date.UTC(2026, 10, 22, 4, 0, 0);

/** Writes one journal into a fresh folder and returns the folder and its entries. */
export function writeFixtureJournal(run: FixtureRun): { dir: string; entries: JournalEntry[] } {
  const dir = mkdtempSync(join(tmpdir(), 'imload-merge-'));
  const path = join(dir, 'journal.ndjson');
  const seed = run.seed ?? 5;
  const workers = run.workers ?? 1;
  const startEpochMs = run.startEpochMs ?? FIXTURE_START;
  const { index, count } = run.segment;
  const header: JournalHeader = {
    type: 'header',
    version: 1,
    runId: count > 1 ? `fixture-seg${index + 1}of${count}` : 'fixture',
    scenarioName: run.scenarioName ?? 'fixture',
    scenarioFile: '/nonexistent/scenarios.yaml',
    scenario: {
      description: 'merge fixture',
      target: 'chat',
      seed,
      timeScale: 1,
      population: { users: run.users },
      phases: [],
      behaviour: {},
      thresholds: ['delivery.p99 < 2s', 'messages.lost == 0'],
    },
    seed,
    target: { name: 'chat', url: 'irc://127.0.0.1:6667', protocol: 'irc' },
    startedAt: new Date(startEpochMs).toISOString(),
    startEpochMs,
    timeline: { rampUpEnd: 3000, holdEnd: (run.seconds - 2) * 1000, end: run.seconds * 1000 },
    workers,
    segment: run.segment,
    imloadVersion: '0.1.0',
    command: `imload run scenarios.yaml -s fixture --seed ${seed}${count > 1 ? ` --segment ${index + 1}/${count}` : ''}`,
    host: { hostname: `host-${index + 1}`, cpus: 2, memoryBytes: 2 ** 33, node: process.version },
  };
  const writer = new JournalWriter(path);
  writer.append(header);
  writer.append({ type: 'note', key: 'irc:server', text: 'server InspIRCd-3 (fixture)' });
  const deliveryMs = run.deliveryMs ?? ((user, k) => 1 + ((user * 37 + k * 11) % 400) / 7);
  // One recorder per worker, users spread over workers as the engine spreads them.
  const recorders = Array.from({ length: workers }, (_, w) => ({
    recorder: new MetricsRecorder(w),
    users: usersOf(run.users, { segment: index, segments: count, worker: w, workers }),
  }));
  for (let t = 1; t <= run.seconds; t++) {
    const phase = t <= 3 ? 'rampUp' : t <= run.seconds - 2 ? 'hold' : 'rampDown';
    const snapshots = recorders.map(({ recorder, users }) => {
      for (const user of users) recordUserSecond(recorder, user, t, run.seconds, deliveryMs);
      recorder.online = users.filter((u) => onlineAt(u, t, run.seconds)).length;
      return recorder.snapshot();
    });
    writer.append({
      type: 'second',
      t,
      at: startEpochMs + t * 1000,
      phase,
      online: snapshots.reduce((n, s) => n + s.online, 0),
      counters: sumCounters(snapshots.map((s) => s.counters)),
      errors: {},
      histograms: mergeHistograms(snapshots.map((s) => s.histograms)),
      health: snapshots.map((s, w) => ({ worker: w, eventLoopP99: 5 + w, eventLoopMax: 9, cpuPercent: 10 + index, rssBytes: 9e7, baselineRssBytes: 8e7, heapUsedBytes: 4e7, openFds: 40, vus: s.online })),
    });
  }
  if (run.serverOnline !== undefined) {
    const imloadOnline = usersOf(run.users, { segment: index, segments: count, worker: 0, workers: 1 }).length;
    writer.append({ type: 'crosscheck', at: startEpochMs + (run.seconds - 3) * 1000, imloadOnline, serverOnline: run.serverOnline, source: "irc: the server's own count" });
  }
  if (run.endReason !== null) {
    writer.append({ type: 'end', at: startEpochMs + run.seconds * 1000 + 300, reason: run.endReason ?? 'completed' });
  }
  return { dir, entries: readJournal(path) };
}

/** User u logs on in second 1 + u % 3 and off in the last second. */
function onlineAt(user: number, t: number, seconds: number): boolean {
  return t >= 1 + (user % 3) && t < seconds;
}

function recordUserSecond(recorder: MetricsRecorder, user: number, t: number, seconds: number, deliveryMs: (u: number, k: number) => number): void {
  if (t === 1 + (user % 3)) {
    recorder.add('logonAttempts');
    recorder.add('logonOk');
    recorder.latency('logon', 20 + (user % 17) * 3.3);
    recorder.add('joinsOk', 1 + (user % 2));
    recorder.latency('join', 2 + (user % 5));
  }
  if (t === seconds) recorder.add('logoffs');
  // From second 4 to the end of hold, user u sends one message every (2 + u % 3) seconds.
  if (t >= 4 && t <= seconds - 2 && (t + user) % (2 + (user % 3)) === 0) {
    const k = t;
    recorder.add('messagesSent');
    recorder.add('deliveriesExpected');
    recorder.add('deliveriesReceived');
    recorder.latency('delivery', deliveryMs(user, k));
    recorder.latency('sendLag', 0.2);
  }
  if (onlineAt(user, t, seconds)) {
    recorder.add('bytesIn', 100 + (user % 7));
    recorder.add('bytesOut', 20);
  }
}

/** Worker snapshots into one second, as the coordinator folds them. */
function mergeHistograms(list: ReadonlyArray<Partial<Record<LatencyName, string>>>): Partial<Record<LatencyName, string>> {
  const merged = new Map<LatencyName, Histogram>();
  for (const histograms of list) {
    for (const [name, encoded] of Object.entries(histograms) as [LatencyName, string][]) {
      if (!merged.has(name)) merged.set(name, createHistogram());
      merged.get(name)!.add(decodeHistogram(encoded));
    }
  }
  return Object.fromEntries([...merged].map(([name, h]) => [name, encodeHistogram(h)]));
}

function sumCounters(list: ReadonlyArray<Partial<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const counters of list) for (const [k, v] of Object.entries(counters)) out[k] = (out[k] ?? 0) + (v ?? 0);
  return out;
}

/** The N segment journals of one run. */
export function writeSegments(count: number, run: Omit<FixtureRun, 'segment'>): Array<{ dir: string; entries: JournalEntry[] }> {
  return Array.from({ length: count }, (_, index) => writeFixtureJournal({ ...run, segment: { index, count } }));
}
