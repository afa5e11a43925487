/**
 * The per-second work of watching a run live, without the run: a journal's seconds replayed
 * through what `--out prometheus=…?native=1` does each second (fold the second into the
 * cumulative points, the WriteRequest, snappy) and what the live page does per update (fold the
 * second in, build the report's model so far, its sections and chart data as JSON). Prints ms per
 * second for each. Run it under `node --cpu-prof` to see where the time goes (issue 20's fast
 * paths were chosen that way). Then what the live page keeps for the run: the heap a LiveRun
 * retains once every second is in, per second of run (a dashboard is open for the whole run, so
 * this is what a working day's run costs the coordinator).
 *
 *   node --expose-gc --import tsx bench/live-replay.bench.ts [journal.ndjson]   (default: a synthetic 20,000-user, 120 s journal)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJournal, type JournalEntry, type JournalHeader, type JournalSecond } from '../src/metrics/journal.js';
import { RunPoints } from '../src/outputs/points.js';
import { toTimeSeries } from '../src/outputs/prometheus.js';
import { encodeWriteRequest } from '../src/outputs/remote-write.js';
import { snappyCompress } from '../src/outputs/snappy.js';
import { LiveRun } from '../src/live/live-run.js';
import { reportPageData, reportSections } from '../src/report/html.js';
import { writeSyntheticJournal } from '../test/unit/report-synthetic-journal.js';

let path = process.argv[2];
if (!path) {
  path = join(mkdtempSync(join(tmpdir(), 'imload-live-replay-')), 'journal.ndjson');
  writeSyntheticJournal({ path, seconds: 120, users: 20_000, rampSeconds: 20 });
}
const entries = readJournal(path).filter((e) => e.type !== 'end');
const header = entries[0] as JournalHeader;
const seconds = entries.filter((e): e is JournalSecond => e.type === 'second');
const histograms = seconds.reduce((n, s) => n + Object.keys(s.histograms).length, 0) / seconds.length;
console.log(`${path}: ${seconds.length} seconds, ${histograms.toFixed(1)} latency histograms a second`);

const points = new RunPoints();
points.start(header);
let bytes = 0;
let started = performance.now();
for (const second of seconds) bytes += snappyCompress(encodeWriteRequest(toTimeSeries(points.add(second), second.at, true))).length;
console.log(`prometheus (native): ${((performance.now() - started) / seconds.length).toFixed(2)} ms a second, ${(bytes / seconds.length / 1024).toFixed(1)} KiB a request`);

const live = new LiveRun();
let payload = 0;
started = performance.now();
for (const entry of entries) {
  live.add(entry);
  if (entry.type !== 'second') continue;
  const model = live.model();
  payload += JSON.stringify({ sections: reportSections(model), charts: reportPageData(model).charts }).length;
}
console.log(`live page (a build every second): ${((performance.now() - started) / seconds.length).toFixed(2)} ms a second, ${(payload / seconds.length / 1024).toFixed(1)} KiB an update`);

// What a LiveRun keeps: the heap with it filled, less the heap without it, both after full
// collections. Each entry is a fresh copy, as the coordinator hands the page entries nothing else keeps.
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.log('retained: run with node --expose-gc to measure what the live page keeps');
else {
  const lines = entries.map((entry) => JSON.stringify(entry));
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = new LiveRun();
  for (const line of lines) kept.add(JSON.parse(line) as JournalEntry);
  gc();
  const retained = process.memoryUsage().heapUsed - before;
  console.log(`retained by the live page: ${(retained / 1024).toFixed(0)} KiB for ${seconds.length} seconds, ${(retained / seconds.length).toFixed(0)} bytes a second (${kept.totals.bytesIn > 0 ? 'kept' : 'empty'})`);
}
