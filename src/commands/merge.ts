/**
 * `imload merge <run-dir>...`: combines the journals of segment runs (`run --segment i/N`, one
 * per host) into one run folder, exactly: per second the counters are summed and the interval
 * HDR histograms added (never averaged), so the merged summary is the one a single process
 * running the whole population would have written. Every output is then rebuilt from the
 * merged journal by the same code as `imload report`.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT, UserFacingError } from '../exit-codes.js';
import { createHistogram, decodeHistogram, encodeHistogram, type Histogram } from '../metrics/histogram.js';
import {
  JournalWriter,
  readJournal,
  type JournalCrossCheck,
  type JournalEnd,
  type JournalEntry,
  type JournalHeader,
  type JournalNote,
  type JournalSecond,
  type RunPhase,
} from '../metrics/journal.js';
import type { CounterName, LatencyName } from '../metrics/names.js';
import { writeRunOutputs } from '../report/outputs.js';
import { buildSummary, type Summary } from '../analysis/summary.js';
import { formatSummaryText } from '../report/text.js';
import { claimRunFolder } from './run-folder.js';

/** Where a merged run came from: one entry per segment journal, in segment order. */
export interface MergedSource {
  readonly runId: string;
  readonly segment: string;
  readonly hostname: string;
  readonly startedAt: string;
  readonly source: string;
}

export type MergedJournalHeader = JournalHeader & { readonly mergedFrom: readonly MergedSource[] };

/** One segment journal and where it was read from (for messages). */
export interface SegmentJournal {
  readonly source: string;
  readonly entries: readonly JournalEntry[];
}

export interface MergeCommandOptions {
  readonly runDirs: readonly string[];
  readonly out?: string;
  /** Empty `out` first when it holds an earlier run (otherwise a non-empty folder is refused). */
  readonly overwrite?: boolean;
  readonly quiet?: boolean;
}

export async function mergeCommand(options: MergeCommandOptions): Promise<{ exitCode: number; runDir: string; summary: Summary }> {
  if (options.runDirs.length === 0) throw new UserFacingError('merge: name the segment run folders to merge', EXIT.badInput);
  const journals = options.runDirs.map((dir) => ({ source: dir, entries: readJournal(journalPathOf(dir)) }));
  const merged = mergeJournals(journals);
  const header = merged[0] as MergedJournalHeader;
  const runDir = resolve(options.out ?? join('reports', header.runId));
  if (options.runDirs.some((dir) => resolve(dir) === runDir)) {
    throw new UserFacingError(`merge: --out ${runDir} is one of the inputs; choose another folder`, EXIT.badInput);
  }
  claimRunFolder(runDir, options.overwrite ?? false);
  mkdirSync(runDir, { recursive: true });
  const journalPath = join(runDir, 'journal.ndjson');
  const writer = new JournalWriter(journalPath);
  for (const entry of merged) writer.append(entry);
  const { summary } = buildSummary(merged);
  await writeRunOutputs(runDir, summary);
  if (!options.quiet) process.stdout.write(`${formatSummaryText(summary, runDir)}\n`);
  return { exitCode: summary.thresholds.every((t) => t.ok) ? EXIT.ok : EXIT.thresholdsFailed, runDir, summary };
}

/** A run folder or a journal file. */
function journalPathOf(path: string): string {
  const journal = existsSync(path) && statSync(path).isDirectory() ? join(path, 'journal.ndjson') : path;
  if (!existsSync(journal)) throw new UserFacingError(`merge: ${path}: no journal.ndjson here (is it a run folder?)`, EXIT.badInput);
  return journal;
}

/** Merges complete sets of segment journals; refuses (exit 2) anything that is not one run split N ways. */
export function mergeJournals(journals: readonly SegmentJournal[]): JournalEntry[] {
  const parts = checkSegments(journals);
  const headers = parts.map((p) => p.header);
  const first = headers[0]!;
  const count = first.segment.count;
  const header: MergedJournalHeader = {
    ...first,
    runId: `${first.runId.replace(/-seg\d+of\d+$/, '')}-merged`,
    // The earliest start: the merged run began when its first segment did.
    startEpochMs: Math.min(...headers.map((h) => h.startEpochMs)),
    startedAt: new Date(Math.min(...headers.map((h) => h.startEpochMs))).toISOString(),
    workers: headers.reduce((n, h) => n + h.workers, 0),
    segment: { index: 0, count: 1 },
    // What reproduces the merged run on one host: the segment's command without --segment.
    command: first.command.replace(/ --segment \d+\/\d+/, ''),
    mergedFrom: parts.map((p) => ({
      runId: p.header.runId,
      segment: `${p.header.segment.index + 1}/${count}`,
      hostname: p.header.host.hostname,
      startedAt: p.header.startedAt,
      source: p.source,
    })),
  };
  return [
    header,
    ...mergeSeconds(parts),
    ...mergeNotes(parts),
    ...mergeCrossChecks(parts),
    ...mergeEnd(parts),
  ];
}

interface Part {
  readonly source: string;
  readonly header: JournalHeader;
  readonly entries: readonly JournalEntry[];
  /** Added to this segment's worker numbers so every generator process keeps its own health row. */
  readonly workerOffset: number;
}

function refuse(message: string): never {
  throw new UserFacingError(`merge: ${message}`, EXIT.badInput);
}

/** Same scenario, seed and segment count; every segment exactly once. Returns them in segment order. */
function checkSegments(journals: readonly SegmentJournal[]): Part[] {
  const headers = journals.map((j) => {
    const header = j.entries[0];
    if (header?.type !== 'header') refuse(`${j.source}: the journal has no run header`);
    return { ...header, segment: header.segment ?? { index: 0, count: 1 } };
  });
  const first = headers[0]!;
  const label = (i: number) => `${journals[i]!.source} (${headers[i]!.segment.index + 1}/${headers[i]!.segment.count})`;
  headers.forEach((h, i) => {
    if (h.scenarioName !== first.scenarioName) refuse(`different scenarios: ${label(0)} ran "${first.scenarioName}", ${label(i)} ran "${h.scenarioName}"`);
    if (h.seed !== first.seed) refuse(`different seeds: ${label(0)} has seed ${first.seed}, ${label(i)} has seed ${h.seed}`);
    if (canonicalJson(h.scenario) !== canonicalJson(first.scenario)) {
      refuse(`${label(i)} ran scenario "${h.scenarioName}" with other settings than ${label(0)} (different overrides?)`);
    }
    if (h.segment.count !== first.segment.count) {
      refuse(`mismatched segment counts: ${label(0)} is one of ${first.segment.count} segments, ${label(i)} one of ${h.segment.count}`);
    }
  });
  const count = first.segment.count;
  const bySegment = new Map<number, number>();
  headers.forEach((h, i) => {
    const seen = bySegment.get(h.segment.index);
    if (seen !== undefined) refuse(`duplicate segment ${h.segment.index + 1}/${count}: ${journals[seen]!.source} and ${journals[i]!.source}`);
    bySegment.set(h.segment.index, i);
  });
  const missing = Array.from({ length: count }, (_, s) => s).filter((s) => !bySegment.has(s));
  if (missing.length > 0) {
    refuse(`missing segment${missing.length > 1 ? 's' : ''} ${missing.map((s) => `${s + 1}/${count}`).join(', ')} (given: ${[...bySegment.keys()].sort((a, b) => a - b).map((s) => `${s + 1}/${count}`).join(', ')})`);
  }
  let workerOffset = 0;
  return [...bySegment.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, i]) => {
      const part = { source: journals[i]!.source, header: headers[i]!, entries: journals[i]!.entries, workerOffset };
      workerOffset += headers[i]!.workers;
      return part;
    });
}

/** JSON with sorted keys, so two equal scenarios compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

const PHASE_ORDER: readonly RunPhase[] = ['rampUp', 'hold', 'rampDown', 'stopping'];

/** Second t of the merged run is second t of every segment: they share one timeline. */
function mergeSeconds(parts: readonly Part[]): JournalSecond[] {
  const byT = new Map<number, Array<{ second: JournalSecond; part: Part }>>();
  for (const part of parts) {
    for (const entry of part.entries) {
      if (entry.type !== 'second') continue;
      const list = byT.get(entry.t) ?? [];
      list.push({ second: entry, part });
      byT.set(entry.t, list);
    }
  }
  return [...byT.keys()].sort((a, b) => a - b).map((t) => mergeSecond(t, byT.get(t)!));
}

function mergeSecond(t: number, seconds: ReadonlyArray<{ second: JournalSecond; part: Part }>): JournalSecond {
  const counters: Partial<Record<CounterName, number>> = {};
  const errors: Record<string, number> = {};
  const teardown: Record<string, number> = {};
  const histograms = new Map<LatencyName, Histogram>();
  let online = 0;
  let at = 0;
  let phase = 0;
  for (const { second } of seconds) {
    for (const [name, value] of Object.entries(second.counters) as [CounterName, number][]) counters[name] = (counters[name] ?? 0) + value;
    for (const [kind, value] of Object.entries(second.errors)) errors[kind] = (errors[kind] ?? 0) + value;
    for (const [kind, value] of Object.entries(second.teardown ?? {})) teardown[kind] = (teardown[kind] ?? 0) + value;
    for (const [name, encoded] of Object.entries(second.histograms) as [LatencyName, string][]) {
      let histogram = histograms.get(name);
      if (!histogram) histograms.set(name, (histogram = createHistogram()));
      histogram.add(decodeHistogram(encoded));
    }
    online += second.online;
    // The second closes when its last segment closed it; a segment already stopping marks it.
    at = Math.max(at, second.at);
    phase = Math.max(phase, PHASE_ORDER.indexOf(second.phase));
  }
  return {
    type: 'second',
    t,
    at,
    phase: PHASE_ORDER[phase]!,
    online,
    counters,
    errors,
    ...(Object.keys(teardown).length > 0 ? { teardown } : {}),
    histograms: Object.fromEntries([...histograms].map(([name, h]) => [name, encodeHistogram(h)])),
    health: seconds.flatMap(({ second, part }) => second.health.map((h) => ({ ...h, worker: h.worker + part.workerOffset }))),
    // Each segment's own host: the busiest one decides whether a host ran out (docs/metrics.md § Saturation).
    ...busiestHost(seconds.map(({ second }) => second)),
  };
}

function busiestHost(seconds: readonly JournalSecond[]): Pick<JournalSecond, 'host'> {
  const hosts = seconds.flatMap((s) => (s.host ? [s.host] : []));
  return hosts.length > 0 ? { host: hosts.reduce((a, b) => (b.cpuPercent > a.cpuPercent ? b : a)) } : {};
}

/** A note per key, as a single run keeps only the first of each key. */
function mergeNotes(parts: readonly Part[]): JournalNote[] {
  const notes = new Map<string, JournalNote>();
  for (const part of parts) {
    for (const entry of part.entries) if (entry.type === 'note' && !notes.has(entry.key)) notes.set(entry.key, entry);
  }
  for (const part of parts) {
    if (!part.entries.some((e) => e.type === 'end')) {
      const key = `merge:unfinished:${part.header.segment.index + 1}`;
      notes.set(key, { type: 'note', key, text: `segment ${part.header.segment.index + 1}/${part.header.segment.count} (${part.source}) has no end record: it was killed, its last seconds are missing` });
    }
  }
  return [...notes.values()];
}

/**
 * The server's count checked against imload's at one moment. Segments on different servers, or
 * run one after another, each checked only their own users: both counts add up. Segments sharing
 * one server at the same time each asked it for everyone, so one answer is kept and set beside
 * imload's count at that moment (that segment's own plus the others' online at the nearest
 * second): among the checks made while every other segment was holding steady, the smallest
 * answer, since other segments' observer connections checking at the same time can only add to
 * it. When checks coincide every answer may include them; the source then says how many could.
 */
function mergeCrossChecks(parts: readonly Part[]): JournalCrossCheck[] {
  const checks = parts.flatMap((part) => {
    const check = part.entries.find((e): e is JournalCrossCheck => e.type === 'crosscheck');
    return check ? [{ part, check }] : [];
  });
  if (checks.length === 0) return [];
  const running = (part: Part, when: number) => when >= part.header.startEpochMs && when <= endOf(part);
  const alone = checks.every(({ part, check }) => parts.every((p) => p === part || !running(p, check.at)));
  const sameServer = new Set(parts.map((p) => p.header.target.url)).size === 1;
  if (!sameServer || alone) {
    const answers = checks.map((c) => c.check.serverOnline);
    const complete = checks.length === parts.length && answers.every((a) => a !== null);
    return [{
      type: 'crosscheck',
      at: Math.max(...checks.map((c) => c.check.at)),
      imloadOnline: checks.reduce((n, c) => n + c.check.imloadOnline, 0),
      serverOnline: complete ? (answers as number[]).reduce((a, b) => a + b, 0) : null,
      source: complete ? `${checks[0]!.check.source} (sum over ${parts.length} segments)` : `merged from ${parts.length} segments: ${checks.length} checked, ${answers.filter((a) => a !== null).length} answered`,
    }];
  }
  const others = ({ part, check }: (typeof checks)[number]) => parts.filter((p) => p !== part).map((p) => secondAt(p, check.at));
  const steady = checks.filter((c) => others(c).every((s) => s?.phase === 'hold'));
  const chosen = steady.reduce<(typeof checks)[number] | undefined>((best, c) => (!best || (c.check.serverOnline ?? Infinity) < (best.check.serverOnline ?? Infinity) ? c : best), undefined) ?? checks[0]!;
  const { part, check } = chosen;
  const coinciding = checks.filter((c) => c !== chosen && Math.abs(c.check.at - check.at) < 1000).length;
  const caveat = coinciding > 0 ? `; ${coinciding} other segment(s) checked within a second, their observer connections may be counted too` : '';
  return [{
    type: 'crosscheck',
    at: check.at,
    imloadOnline: check.imloadOnline + others(chosen).reduce((n, s) => n + (s?.online ?? 0), 0),
    serverOnline: check.serverOnline,
    source: `${check.source} (one server shared by ${parts.length} segments: asked by segment ${part.header.segment.index + 1}/${part.header.segment.count}, the others' online in that second added${caveat})`,
  }];
}

/** The part's per-second sample (taken at each second's tick) nearest to `at`, if the part was running then. */
function secondAt(part: Part, at: number): JournalSecond | undefined {
  if (at < part.header.startEpochMs || at > endOf(part)) return undefined;
  let nearest: JournalSecond | undefined;
  for (const e of part.entries) if (e.type === 'second' && (!nearest || Math.abs(e.at - at) < Math.abs(nearest.at - at))) nearest = e;
  return nearest;
}

function endOf(part: Part): number {
  const end = part.entries.find((e): e is JournalEnd => e.type === 'end');
  const lastSecond = part.entries.reduce((at, e) => (e.type === 'second' ? Math.max(at, e.at) : at), part.header.startEpochMs);
  return end?.at ?? lastSecond;
}

const REASON_SEVERITY: readonly JournalEnd['reason'][] = ['completed', 'interrupted', 'aborted', 'failed'];

/** The latest end, with the worst reason of any segment; none when a segment was killed before its end. */
function mergeEnd(parts: readonly Part[]): JournalEnd[] {
  const ends = parts.map((p) => ({ part: p, end: p.entries.find((e): e is JournalEnd => e.type === 'end') }));
  if (ends.some((e) => !e.end)) return [];
  const worst = ends.reduce((w, e) => (REASON_SEVERITY.indexOf(e.end!.reason) > REASON_SEVERITY.indexOf(w.end!.reason) ? e : w));
  const reason = worst.end!.reason;
  const details = ends
    .filter((e) => e.end!.reason === reason && e.end!.detail)
    .map((e) => `segment ${e.part.header.segment.index + 1}/${e.part.header.segment.count}: ${e.end!.detail}`);
  return [{ type: 'end', at: Math.max(...ends.map((e) => e.end!.at)), reason, ...(details.length > 0 ? { detail: details.join('; ') } : {}) }];
}
