/**
 * The report of an eight-hour, 100,000-user run (issue 19, "Long runs stay flat"): a synthetic
 * journal of 28,800 seconds built like bench/report.bench.ts's (real JournalWriter and
 * MetricsRecorder; ten workers' health each second, interval HDR histograms, ramp, hold and
 * ramp-down), then `imload report <run-dir>` run as a user runs it (bin/imload.js, a fresh
 * process). Targets: rebuilt in under 30 s, index.html under 5 MB.
 *
 *   node --import tsx bench/report-8h.bench.ts [--keep DIR] [--rounds N] [--baseline-cli PATH]
 *
 * --keep DIR writes the journal into DIR once and reuses it on later runs (the build takes
 * minutes); --rounds times the report that many times; --baseline-cli times another checkout's
 * bin/imload.js on the same journal in alternate rounds (a ratio within one run).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeSyntheticJournal } from '../test/unit/report-synthetic-journal.js';
import type { Summary } from '../src/analysis/summary.js';

const SECONDS = 8 * 3600;
const USERS = 100_000;
const WORKERS = 10;
const TARGET_MS = 30_000;
const TARGET_BYTES = 5 * 10 ** 6;

const { values } = parseArgs({ options: { keep: { type: 'string' }, rounds: { type: 'string', default: '1' }, 'baseline-cli': { type: 'string' } } });
const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'imload-report-8h-'));
const journal = join(dir, 'journal.ndjson');
try {
  if (!existsSync(journal)) {
    mkdirSync(dir, { recursive: true });
    const started = performance.now();
    // A 10-minute ramp (slow enough not to saturate the host), 2-minute ramp-down; ~40 members per channel.
    writeSyntheticJournal({ path: journal, seconds: SECONDS, users: USERS, rampSeconds: 600, rampDownSeconds: 120, workers: WORKERS, fanOut: 40, presence: true, errorsAt: (t): Record<string, number> => (t % 97 === 0 ? { 'logon-timeout': 2 } : {}), runId: 'synthetic-8h-100k' });
    console.log(`journal written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  // GNU time reports the process's peak RSS (KiB); without it only the wall-clock is measured.
  const gnuTime = existsSync('/usr/bin/time');
  const rssFile = join(tmpdir(), `imload-report-8h-rss-${process.pid}`);
  /** `imload report <dir>` in a fresh process, as a user runs it: wall-clock ms and peak RSS. */
  const timeReport = (cli: string): { ms: number; peakRssMiB: number | null } => {
    for (const name of readdirSync(dir)) if (name !== 'journal.ndjson') rmSync(join(dir, name), { recursive: true, force: true });
    const command = [process.execPath, cli, 'report', dir];
    const started = performance.now();
    const report = gnuTime
      ? spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, ...command], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })
      : spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    const ms = performance.now() - started;
    if (report.status !== 0) throw new Error(`${cli} report exited ${report.status}: ${report.stderr}`);
    return { ms, peakRssMiB: gnuTime ? Math.round(Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) / 1024) : null };
  };
  const rounds: number[] = [];
  const baseline: number[] = [];
  const peakRss: Array<number | null> = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    if (values['baseline-cli']) baseline.push(timeReport(values['baseline-cli']).ms);
    const current = timeReport('bin/imload.js');
    rounds.push(current.ms);
    peakRss.push(current.peakRssMiB);
  }
  if (gnuTime) rmSync(rssFile, { force: true });
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
  const htmlBytes = statSync(join(dir, 'index.html')).size;
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const figures = {
    loadAverage: loadavg().map((l) => +l.toFixed(2)),
    journalMiB: +(statSync(journal).size / 2 ** 20).toFixed(1),
    reportSeconds: rounds.map((ms) => +(ms / 1000).toFixed(2)),
    ...(baseline.length > 0 ? { baselineReportSeconds: baseline.map((ms) => +(ms / 1000).toFixed(2)), ratioToBaseline: rounds.map((ms, i) => +(ms / baseline[i]!).toFixed(2)) } : {}),
    reportPeakRssMiB: peakRss,
    indexHtmlMB: +(htmlBytes / 10 ** 6).toFixed(2),
    resolutionNote: /id="chart-resolution">([^<]*)/.exec(html)?.[1] ?? '(none)',
    chartPoints: (JSON.parse(/id="report-data">([^<]*)</.exec(html)![1]!) as { charts: Array<{ config: { data: { datasets: Array<{ data: unknown[] }> } } }> }).charts[0]!.config.data.datasets[0]!.data.length,
    pngs: readdirSync(join(dir, 'charts')).length,
    durationSeconds: summary.durationSeconds,
    peakOnline: summary.users.peakOnline,
    deliveries: summary.messages.delivered,
    deliveryP99: summary.latency.delivery.p99,
  };
  console.log(JSON.stringify(figures, null, 2));
  const worst = Math.max(...rounds);
  console.log(`imload report ${(worst / 1000).toFixed(2)} s worst of ${rounds.length} (target < ${TARGET_MS / 1000} s): ${worst < TARGET_MS ? 'ok' : 'OVER'}`);
  console.log(`index.html ${figures.indexHtmlMB} MB (target < 5 MB): ${htmlBytes < TARGET_BYTES ? 'ok' : 'OVER'}`);
  if (worst >= TARGET_MS || htmlBytes >= TARGET_BYTES) process.exitCode = 1;
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
