/**
 * The live page's run-so-far (src/live/live-run.ts), fed one journal entry at a time, builds the
 * same report model as buildSummary + buildReportModel reading the same entries from scratch: the
 * summary, the per-second series (error kinds that appear late, latencies, phases), the SLO
 * onsets of a broken threshold, and the charts, before and after downsampling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJournal, type JournalEntry } from '../../src/metrics/journal.js';
import { buildSummary } from '../../src/analysis/summary.js';
import { buildReportModel, MAX_CHART_POINTS } from '../../src/report/report-model.js';
import { LiveRun } from '../../src/live/live-run.js';
import { writeSyntheticJournal } from './report-synthetic-journal.js';

function fromScratch(entries: readonly JournalEntry[]) {
  const { summary } = buildSummary(entries);
  return { ...buildReportModel(summary, { entries: [...entries], tornLastLine: false }), cutShort: null };
}

test('LiveRun: entry by entry, the same model as the journal read from scratch, at every point compared', () => {
  const seconds = MAX_CHART_POINTS + 60;
  const path = join(mkdtempSync(join(tmpdir(), 'imload-live-run-')), 'journal.ndjson');
  writeSyntheticJournal({
    path,
    seconds,
    users: 100,
    rampSeconds: 30,
    presence: true,
    // Latency rises past the SLO late in the run, so the summary reads the series for its onset.
    deliveryMedianMs: (t) => (t > 700 ? 2500 : 40),
    // A second error kind first seen late: its column starts with zeros, and it outnumbers the first.
    errorsAt: (t) => ({ ...(t % 50 === 0 ? { timeout: 1 } : {}), ...(t > 800 && t % 3 === 0 ? { refused: 2 } : {}) }),
  });
  const entries = readJournal(path).filter((e) => e.type !== 'end');
  const live = new LiveRun();
  const checkpoints = new Set([2, 40, 750, 820, MAX_CHART_POINTS + 1, entries.length]);
  let compared = 0;
  entries.forEach((entry, i) => {
    live.add(entry);
    if (!checkpoints.has(i + 1)) return;
    const expected = fromScratch(entries.slice(0, i + 1));
    const actual = live.model();
    assert.deepEqual(actual.summary, expected.summary, `summary after ${i + 1} entries`);
    assert.deepEqual(actual.series, expected.series, `series after ${i + 1} entries`);
    assert.deepEqual(actual.sloOnsets, expected.sloOnsets, `SLO onsets after ${i + 1} entries`);
    assert.deepEqual(JSON.stringify(actual), JSON.stringify(expected), `the whole model after ${i + 1} entries`);
    compared++;
    if (i + 1 === 820) {
      // Before downsampling: the late kind's column covers every second, 0 before it was first seen.
      const refused = actual.series!.columns['error:refused']!;
      assert.equal(refused.length, actual.series!.t.length);
      assert.equal(refused[0], 0);
    }
  });
  assert.equal(compared, checkpoints.size);
  const last = live.model();
  // What the fixture was made to exercise really happened.
  assert.deepEqual(last.series!.errorKinds, ['refused', 'timeout']);
  assert.ok(last.series!.bucketSeconds > 1, 'downsampled');
  assert.ok(last.sloOnsets.length > 0, 'an SLO broke, and its onset was found');
});

test('LiveRun: a model taken earlier keeps what it showed when later seconds arrive', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'imload-live-run-')), 'journal.ndjson');
  writeSyntheticJournal({ path, seconds: 20, users: 50, rampSeconds: 5 });
  const entries = readJournal(path).filter((e) => e.type !== 'end');
  const live = new LiveRun();
  for (const entry of entries.slice(0, 10)) live.add(entry);
  const early = live.model();
  const snapshot = JSON.stringify(early);
  for (const entry of entries.slice(10)) live.add(entry);
  live.model();
  assert.equal(JSON.stringify(early), snapshot);
});
