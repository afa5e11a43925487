/**
 * The combined summary of `imload run --repeat N`: the same seeded scenario run N times, each
 * in its own folder, and every headline figure as median, minimum and maximum over the runs, so
 * run-to-run spread is visible before anyone reads one run's figure as the server's
 * (docs/summary-schema.md § repeat-summary.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { escapeMarkdownCell as cell } from '../text/escape.js';
import { formatMetricValue, formatNumber } from './format.js';
import { perUserBandwidth } from './per-user-bandwidth.js';
import type { Summary } from '../analysis/summary.js';

export const REPEAT_SUMMARY_FILE = 'repeat-summary.json';
export const REPEAT_SUMMARY_VERSION = 1;

/** The headline figures, each read from one run's summary (null: the run did not measure it). */
const HEADLINE_FIGURES: ReadonlyArray<{ readonly metric: string; readonly label: string; readonly value: (s: Summary) => number | null }> = [
  { metric: 'users.peakOnline', label: 'online at peak', value: (s) => s.users.peakOnline },
  { metric: 'logon.p95', label: 'logon p95', value: (s) => (s.latency.logon.count > 0 ? s.latency.logon.p95 : null) },
  { metric: 'delivery.p99', label: 'delivery p99', value: (s) => (s.latency.delivery.count > 0 ? s.latency.delivery.p99 : null) },
  { metric: 'presence.p95', label: 'presence p95', value: (s) => (s.latency.presence.count > 0 ? s.latency.presence.p95 : null) },
  // Real time where there is a real-time figure (see per-user-bandwidth.ts), wall-clock otherwise (said in `basis`).
  { metric: 'bandwidth.kbpsPerUser', label: 'bandwidth per user', value: (s) => (s.users.peakOnline > 0 ? (perUserBandwidth(s).realTime ?? s.bandwidth.kbpsPerUser) : null) },
  { metric: 'errors.rate', label: 'error rate', value: (s) => s.errors.rate },
];

export interface RepeatFigure {
  readonly label: string;
  /** Over the runs that measured it; null when none did. */
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Per run, in run order (null: not measured in that run). */
  readonly values: ReadonlyArray<number | null>;
}

export interface RepeatRun {
  /** Folder relative to the repeat folder, e.g. repeat-1. */
  readonly folder: string;
  readonly runId: string;
  readonly end: Summary['end']['reason'];
  readonly thresholdsOk: boolean;
  readonly exitCode: number;
}

export interface RepeatSummary {
  readonly kind: 'imload-repeat';
  readonly version: number;
  readonly scenario: string;
  readonly seed: number;
  readonly timeScale: number;
  /** Repeats asked for; `runs` may be fewer when one was interrupted. */
  readonly repeats: number;
  readonly command: string;
  /** The lab started the server afresh for each repeat (--lab). */
  readonly lab: boolean;
  /** What the bandwidth figure is: real time (timeScale 1 or normalised) or wall-clock. */
  readonly bandwidthBasis: 'real time' | 'wall-clock';
  readonly runs: readonly RepeatRun[];
  readonly figures: Readonly<Record<string, RepeatFigure>>;
}

export function buildRepeatSummary(repeats: number, command: string, lab: boolean, runs: ReadonlyArray<{ readonly folder: string; readonly exitCode: number; readonly summary: Summary }>): RepeatSummary {
  const first = runs[0]!.summary;
  const figures: Record<string, RepeatFigure> = {};
  for (const figure of HEADLINE_FIGURES) {
    const values = runs.map((r) => figure.value(r.summary));
    const measured = values.filter((v): v is number => v !== null);
    figures[figure.metric] = {
      label: figure.label,
      median: measured.length > 0 ? median(measured) : null,
      min: measured.length > 0 ? Math.min(...measured) : null,
      max: measured.length > 0 ? Math.max(...measured) : null,
      values,
    };
  }
  return {
    kind: 'imload-repeat',
    version: REPEAT_SUMMARY_VERSION,
    scenario: first.scenario.name,
    seed: first.seed,
    timeScale: first.timeScale,
    repeats,
    command,
    lab,
    bandwidthBasis: runs.every((r) => perUserBandwidth(r.summary).realTime !== null) ? 'real time' : 'wall-clock',
    runs: runs.map((r) => ({ folder: r.folder, runId: r.summary.runId, end: r.summary.end.reason, thresholdsOk: r.summary.thresholds.every((t) => t.ok), exitCode: r.exitCode })),
    figures,
  };
}

export function renderRepeatMarkdown(r: RepeatSummary): string {
  const value = (metric: string, v: number | null) => (v === null ? '–' : formatMetricValue(metric, v));
  const out = [
    `## imload: ${r.scenario}, ${r.runs.length} of ${r.repeats} repeats (seed ${r.seed})`,
    '',
    `Each repeat ran the same seeded scenario in its own folder (${r.runs.map((run) => `\`${run.folder}\``).join(', ')})${r.lab ? '; the lab server was started afresh for each' : ''}.`,
    '',
    '| figure | median | min | max | per run |',
    '|---|---|---|---|---|',
    ...Object.entries(r.figures).map(([metric, f]) => {
      const label = metric === 'bandwidth.kbpsPerUser' ? `${f.label} (${r.bandwidthBasis})` : f.label;
      return `| ${cell(label)} | ${value(metric, f.median)} | ${value(metric, f.min)} | ${value(metric, f.max)} | ${f.values.map((v) => value(metric, v)).join(' · ')} |`;
    }),
    '',
    ...r.runs.map((run) => `- \`${run.folder}\` ${run.runId}: ${run.end}, thresholds ${run.thresholdsOk ? 'passed' : 'failed'}, exit ${run.exitCode}`),
    '',
    `Reproduce: \`${r.command}\``,
    '',
  ];
  return out.join('\n');
}

/** The run folders of a repeat folder, in run order; null when `dir` is not one. */
export function repeatRunFolders(dir: string): string[] | null {
  const path = join(dir, REPEAT_SUMMARY_FILE);
  if (!existsSync(path)) return null;
  const summary = JSON.parse(readFileSync(path, 'utf8')) as RepeatSummary;
  return summary.runs.map((run) => join(dir, run.folder));
}

/** The combined figures as lines for the terminal, after the last repeat's own summary. */
export function formatRepeatText(r: RepeatSummary): string {
  const value = (metric: string, v: number | null) => (v === null ? '–' : formatMetricValue(metric, v));
  const rows = Object.entries(r.figures).map(([metric, f]) => {
    const label = metric === 'bandwidth.kbpsPerUser' ? `${f.label} (${r.bandwidthBasis})` : f.label;
    return `  ${label.padEnd(32)} median ${value(metric, f.median).padStart(12)}   min ${value(metric, f.min).padStart(12)}   max ${value(metric, f.max).padStart(12)}`;
  });
  return [`${formatNumber(r.runs.length)} of ${formatNumber(r.repeats)} repeats of ${r.scenario} (seed ${r.seed})`, ...rows].join('\n');
}
