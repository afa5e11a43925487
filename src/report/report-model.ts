/**
 * Everything the report formats (HTML, PNG, Markdown, JUnit) need, gathered once from a run
 * folder's journal and its summary, so every output tells the same story.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal, type JournalEntry, type JournalHeader } from '../metrics/journal.js';
import { buildChartSpecs, DOCUMENTED_KBPS_PER_USER, type ChartSpec, type OmittedChart } from './chart-specs.js';
import { buildTimeSeries, downsample, type TimeSeries } from '../analysis/series.js';
import { formatNumber } from './format.js';
import { scenarioText } from './scenario-text.js';
import { findSloOnsets, type SloOnset } from '../analysis/slo-onset.js';
import type { SizingQuery } from './sizing.js';
import type { Summary } from '../analysis/summary.js';
import { measuredFigures } from '../analysis/measured.js';

/** Points per chart in the page: enough to see a one-hour run's shape, small enough to stay light. */
export const MAX_CHART_POINTS = 900;

export interface ReportModel {
  readonly summary: Summary;
  readonly header: JournalHeader | null;
  /** Why the figures cover less than the planned run, or null when it ended as planned. */
  readonly cutShort: string | null;
  /** Chart series, downsampled to at most MAX_CHART_POINTS. */
  readonly series: TimeSeries | null;
  /** For each failed latency SLO: the first second it broke and the users online then. */
  readonly sloOnsets: readonly SloOnset[];
  readonly charts: readonly ChartSpec[];
  readonly omittedCharts: readonly OmittedChart[];
  /** The scenario as journaled (after overrides, secrets as references), as YAML. */
  readonly scenarioText: string;
  readonly serverVersion: string;
  readonly protocolSections: ReadonlyArray<{ readonly protocol: string; readonly notes: ReadonlyArray<{ key: string; text: string }> }>;
  readonly sizing: { readonly query: SizingQuery; readonly measuredCapacityNote: string };
  /** "measured wall-clock" or "normalised": said beside every per-user figure. */
  readonly perUserBasis: string;
  /** Bandwidth per user comparable with a documented (real-time) figure; null if nobody was online. */
  readonly realTimeBandwidth: RealTimeBandwidth | null;
}

export interface RealTimeBandwidth {
  readonly kbpsPerUser: number;
  /** How the figure is real time, said beside it: "real time (timeScale 1)" or "real time, normalised from timeScale 60". */
  readonly basis: string;
}

/**
 * The per-user bandwidth to set against documented figures: wall-clock at timeScale 1, the
 * normalised figure when the run compressed time (wall-clock bytes then include behaviour
 * compressed N×). Same rule as the verdicts (src/analysis/verdicts.ts).
 */
export function realTimeBandwidth(summary: Summary): RealTimeBandwidth | null {
  if (summary.users.peakOnline === 0) return null;
  if (summary.timeScale === 1) return { kbpsPerUser: summary.bandwidth.kbpsPerUser, basis: 'real time (timeScale 1)' };
  const normalised = summary.bandwidth.normalised;
  return normalised ? { kbpsPerUser: normalised.kbpsPerUser, basis: `real time, normalised from timeScale ${summary.timeScale}` } : null;
}

export interface RunJournal {
  readonly entries: JournalEntry[];
  /** The file does not end with a newline: the process died mid-line (readJournal dropped it). */
  readonly tornLastLine: boolean;
}

export function loadRunJournal(runDir: string): RunJournal | null {
  const path = join(runDir, 'journal.ndjson');
  if (!existsSync(path)) return null;
  const entries = readJournal(path);
  const size = statSync(path).size;
  const last = Buffer.alloc(1);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, last, 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  return { entries, tornLastLine: size > 0 && last[0] !== 0x0a };
}

export function describeBasis(basis: string): string {
  return basis === 'wall-clock' ? 'measured wall-clock' : basis;
}

function cutShortReason(summary: Summary, journal: RunJournal | null): string | null {
  const torn = journal?.tornLastLine ? ' Its last line was torn (written half-way) and was left out.' : '';
  if (summary.end.reason === 'unknown') {
    return `This run was cut short: the journal has no end record (the process was killed), so these figures cover only the ${summary.durationSeconds} s it journaled.${torn}`;
  }
  if (summary.end.reason !== 'completed') {
    return `This run ended early (${summary.end.reason}${summary.end.detail ? `: ${summary.end.detail}` : ''}); the figures cover ${summary.durationSeconds} s.${torn}`;
  }
  return torn ? `The journal's last line was torn and was left out.${torn}` : null;
}

/** The sizing table sizes on what the run measured by the rule `imload plan --from-run` uses (src/analysis/measured.ts). */
function sizingQuery(summary: Summary): ReportModel['sizing'] {
  const capacities: Array<{ label: string; perServer: number }> = [];
  for (const v of summary.limits?.verdicts ?? []) {
    if (v.metric === 'users.peakOnline') capacities.push({ label: `documented: ${formatNumber(v.value)} ${v.unit} (${summary.limits!.profile})`, perServer: v.value });
  }
  const measured = measuredFigures(summary);
  if (measured.capacity) capacities.push({ label: `measured: ${formatNumber(measured.capacity.perServer)} per server (${measured.capacity.note})`, perServer: measured.capacity.perServer });
  const bandwidths = [{ label: `documented ${DOCUMENTED_KBPS_PER_USER} kbit/s (LCS 2005, real time)`, kbpsPerUser: DOCUMENTED_KBPS_PER_USER }];
  if (measured.bandwidth) bandwidths.push({ label: `measured ${measured.bandwidth.kbpsPerUser} kbit/s (${measured.bandwidth.note})`, kbpsPerUser: measured.bandwidth.kbpsPerUser });
  const measuredCapacityNote = [
    measured.capacity ? `The measured capacity: ${measured.capacity.note}.` : `No measured capacity from this run: ${measured.capacityWhyNot}.`,
    measured.bandwidth ? '' : `No measured bandwidth: ${measured.bandwidthWhyNot}.`,
  ].filter((text) => text !== '').join(' ');
  return {
    query: { users: 100_000, peakOnlineFraction: 1, capacities, bandwidths, site: { users: 100, linkKbps: 56 } },
    measuredCapacityNote,
  };
}

/**
 * Builds the model from a run folder; `summary` is the run's (the journal supplies the series,
 * unless `everySecond` is the journal's series already, as the live page keeps it).
 */
export function buildReportModel(summary: Summary, journal: RunJournal | null, maxPoints = MAX_CHART_POINTS, everySecond?: TimeSeries): ReportModel {
  const header = journal ? (journal.entries[0] as JournalHeader) : null;
  const basis = describeBasis(summary.bandwidth.basis);
  const realTime = realTimeBandwidth(summary);
  let series: TimeSeries | null = null;
  let sloOnsets: SloOnset[] = [];
  let charts: ChartSpec[] = [];
  let omittedCharts: OmittedChart[] = [{ title: 'All charts', reason: 'the run folder has no journal.ndjson' }];
  if (journal) {
    const seconds = everySecond ?? buildTimeSeries(journal.entries, summary.users.requested);
    sloOnsets = findSloOnsets(seconds, summary.thresholds);
    series = downsample(seconds, maxPoints);
    if (series.t.length > 0) ({ charts, omitted: omittedCharts } = buildChartSpecs(series, { bandwidthBasis: basis, timeScale: summary.timeScale, normalisedKbpsPerUser: summary.bandwidth.normalised?.kbpsPerUser ?? null }));
    else omittedCharts = [{ title: 'All charts', reason: 'the journal has no per-second records (the run stopped before its first second)' }];
  }
  const byProtocol = new Map<string, Array<{ key: string; text: string }>>();
  const protocol = summary.target.protocol;
  byProtocol.set(protocol, []);
  for (const note of summary.notes) {
    const prefix = note.key.includes(':') ? note.key.slice(0, note.key.indexOf(':')) : protocol;
    (byProtocol.get(prefix) ?? byProtocol.set(prefix, []).get(prefix)!).push(note);
  }
  const server = header?.server;
  return {
    summary,
    header,
    cutShort: cutShortReason(summary, journal),
    series,
    sloOnsets,
    charts,
    omittedCharts,
    scenarioText: header ? scenarioText(header.scenario) : '(no journal: scenario unknown)',
    serverVersion: server ? `${server.kind}${server.version ? ` ${server.version}` : ''}` : 'not recorded (not a lab server)',
    protocolSections: [...byProtocol.entries()].map(([name, notes]) => ({ protocol: name, notes })),
    sizing: sizingQuery(summary),
    perUserBasis: basis,
    realTimeBandwidth: realTime,
  };
}
