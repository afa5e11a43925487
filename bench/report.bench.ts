/**
 * How long the full report takes for a one-hour, 20,000-user run, and how big index.html gets.
 * Targets: under 10 s, under 5 MB. Run: node --import tsx bench/report.bench.ts
 * The journal is synthetic (3600 seconds, realistic counters and interval HDR histograms, two
 * workers' health) and written with the real JournalWriter and MetricsRecorder.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJournal } from '../src/metrics/journal.js';
import { writeRunOutputs } from '../src/report/outputs.js';
import { buildSummary } from '../src/analysis/summary.js';
import { writeSyntheticJournal } from '../test/unit/report-synthetic-journal.js';

const SECONDS = 3600;
const USERS = 20_000;
const TARGET_MS = 10_000;
const TARGET_BYTES = 5 * 2 ** 20;

const dir = mkdtempSync(join(tmpdir(), 'imload-report-bench-'));
try {
  const journal = join(dir, 'journal.ndjson');
  let started = performance.now();
  writeSyntheticJournal({ path: journal, seconds: SECONDS, users: USERS, rampSeconds: 60, rampDownSeconds: 30, workers: 2, fanOut: 50, presence: true, errorsAt: (t): Record<string, number> => (t % 97 === 0 ? { 'logon-timeout': 2 } : {}) });
  const buildMs = performance.now() - started;

  // What `imload report <run-dir>` does: read the journal, rebuild the summary, write every output.
  started = performance.now();
  const { summary } = buildSummary(readJournal(journal));
  const summaryMs = performance.now() - started;
  const outputsStarted = performance.now();
  const model = await writeRunOutputs(dir, summary);
  const outputsMs = performance.now() - outputsStarted;
  const totalMs = performance.now() - started;

  const htmlBytes = statSync(join(dir, 'index.html')).size;
  const pngs = readdirSync(join(dir, 'charts'));
  const figures = {
    journalMiB: +(statSync(journal).size / 2 ** 20).toFixed(1),
    journalBuildSeconds: +(buildMs / 1000).toFixed(1),
    // Reading the journal and buildSummary (src/analysis/summary.ts, src/metrics/aggregate.ts).
    summarySeconds: +(summaryMs / 1000).toFixed(2),
    // writeRunOutputs: series, index.html, charts/*.png, summary.md, junit.xml, summary.json.
    outputsSeconds: +(outputsMs / 1000).toFixed(2),
    fullReportSeconds: +(totalMs / 1000).toFixed(2),
    indexHtmlMiB: +(htmlBytes / 2 ** 20).toFixed(2),
    chartPoints: model.series?.t.length,
    bucketSeconds: model.series?.bucketSeconds,
    pngs: pngs.length,
    peakOnline: summary.users.peakOnline,
    deliveries: summary.messages.delivered,
  };
  console.log(JSON.stringify(figures, null, 2));
  console.log(`full report ${figures.fullReportSeconds} s (target < ${TARGET_MS / 1000} s): ${totalMs < TARGET_MS ? 'ok' : 'OVER'}`);
  console.log(`index.html ${figures.indexHtmlMiB} MiB (target < 5 MiB): ${htmlBytes < TARGET_BYTES ? 'ok' : 'OVER'}`);
  if (totalMs >= TARGET_MS || htmlBytes >= TARGET_BYTES) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
