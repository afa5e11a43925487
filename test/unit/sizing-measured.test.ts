/**
 * The report's sizing table sizes on what the run measured by the rule `imload plan --from-run`
 * uses: no capacity from a demo that held its SLOs at a load it chose, and a compressed-time
 * run's bandwidth only normalised to real time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJournal } from '../../src/metrics/journal.js';
import { buildSummary, type Summary } from '../../src/analysis/summary.js';
import { buildReportModel } from '../../src/report/report-model.js';
import { sizingSection } from '../../src/report/html-sections.js';
import { sizeDeployment } from '../../src/report/sizing.js';
import { writeSyntheticJournal } from './report-synthetic-journal.js';

/** A 300-user run that held every SLO, against Exchange 2000's 20,000 users per chat server. */
function demoSummary(): Summary {
  const dir = mkdtempSync(join(tmpdir(), 'imload-sizing-'));
  writeSyntheticJournal({ path: join(dir, 'journal.ndjson'), seconds: 60, users: 300, rampSeconds: 10 });
  return buildSummary(readJournal(join(dir, 'journal.ndjson'))).summary;
}

test('a demo that held its SLOs measures no capacity: the table sizes on the documented figure alone and says why', () => {
  const summary = demoSummary();
  assert.equal(summary.limits?.verdicts[0]?.verdict, 'not-reached');
  assert.ok(summary.thresholds.every((t) => t.ok), 'the demo held its SLOs');
  const { query, measuredCapacityNote } = buildReportModel(summary, null).sizing;
  assert.deepEqual(query.capacities.map((c) => c.perServer), [20_000]);
  assert.deepEqual(sizeDeployment(query).servers.map((s) => s.servers), [5], '100,000 users on 20,000 per server; never 334 servers from a 300-user peak');
  assert.match(measuredCapacityNote, /No measured capacity from this run: its verdict users-per-chat-server is not reached/);
});

test('at timeScale 180 the sizing table sets the normalised real-time figure against 1.6 kbit/s, never the wall-clock one', () => {
  const demo = demoSummary();
  const summary: Summary = {
    ...demo,
    timeScale: 180,
    bandwidth: { ...demo.bandwidth, kbpsPerUser: 6.5171, normalised: { kbpsPerUser: 0.0363, method: 'synthetic', modelScale: 1 } },
  };
  const { query } = buildReportModel(summary, null).sizing;
  assert.deepEqual(query.bandwidths.map((b) => b.kbpsPerUser), [1.6, 0.0363]);
  assert.match(query.bandwidths[1]!.label, /real time, normalised from timeScale 180 \(wall-clock 6.5171 kbit\/s/);
  const html = sizingSection(buildReportModel(summary, null));
  // 100,000 users × 0.0363 kbit/s = 3.63 Mbit/s; the wall-clock figure would give 651.71.
  assert.match(html, /3\.63 Mbit\/s/);
  assert.doesNotMatch(html, /651\.71/);
  const unnormalised: Summary = { ...summary, bandwidth: { ...summary.bandwidth, normalised: null } };
  const without = buildReportModel(unnormalised, null).sizing;
  assert.deepEqual(without.query.bandwidths.map((b) => b.kbpsPerUser), [1.6]);
  assert.match(without.measuredCapacityNote, /No measured bandwidth: it ran at timeScale 180 and has no normalised figure/);
});
