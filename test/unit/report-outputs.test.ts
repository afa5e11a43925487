/** writeRunOutputs on synthetic journals: every file, offline HTML, JUnit cases, Markdown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJournal } from '../../src/metrics/journal.js';
import { writeRunOutputs } from '../../src/report/outputs.js';
import { buildSummary } from '../../src/analysis/summary.js';
import { renderJunit } from '../../src/report/junit.js';
import { writeSyntheticJournal, type SyntheticRun } from './report-synthetic-journal.js';
import { descendants, parseXml } from './report-xml.js';

function syntheticRunDir(options: Omit<SyntheticRun, 'path'>) {
  const dir = mkdtempSync(join(tmpdir(), 'imload-report-'));
  writeSyntheticJournal({ ...options, path: join(dir, 'journal.ndjson') });
  const { summary } = buildSummary(readJournal(join(dir, 'journal.ndjson')));
  return { dir, summary };
}

test('writeRunOutputs writes summary.json, index.html, summary.md, junit.xml and one PNG per chart', async () => {
  const { dir, summary } = syntheticRunDir({ seconds: 90, users: 300, rampSeconds: 10, presence: true });
  const model = await writeRunOutputs(dir, summary);
  for (const file of ['summary.json', 'index.html', 'summary.md', 'junit.xml']) assert.ok(existsSync(join(dir, file)), file);
  const pngs = readdirSync(join(dir, 'charts')).sort();
  assert.deepEqual(pngs, model.charts.map((c) => `${c.id}.png`).sort());
  // Every latency kind had samples, so no chart was left out.
  assert.deepEqual(model.omittedCharts, []);
  assert.ok(pngs.includes('latency-presence.png') && pngs.includes('health-event-loop.png') && pngs.includes('bandwidth.png'));
  for (const png of pngs) {
    const bytes = readFileSync(join(dir, 'charts', png));
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${png} is a PNG`);
    assert.ok(bytes.length > 5000, `${png} has something drawn (${bytes.length} bytes)`);
  }
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')), JSON.parse(JSON.stringify(summary)));
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  assert.match(html, new RegExp(`<tr><th>Presence</th><td>[\\d,]+ changes; ${summary.presence.seen.toLocaleString('en')} of ${summary.presence.expected.toLocaleString('en')} expected notifications`));
  assert.ok(summary.presence.expected > 0);
});

test('index.html is self-contained: Chart.js and data inline, nothing fetched from anywhere', async () => {
  const { dir, summary } = syntheticRunDir({ seconds: 40, users: 100, rampSeconds: 5 });
  await writeRunOutputs(dir, summary);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=/i, 'no external scripts');
  assert.doesNotMatch(html, /<link\b/i, 'no external stylesheets or fonts');
  assert.doesNotMatch(html, /<img\b/i);
  assert.match(html, /Chart\.js v4/, 'the Chart.js bundle is inlined');
  assert.match(html, /<script type="application\/json" id="report-data">/);
  assert.match(html, /<table id="verdicts">/);
  assert.match(html, /@media print/);
  assert.match(html, /prefers-color-scheme: dark/);
  assert.match(html, /measured wall-clock/, 'per-user figures say their basis');
  assert.match(html, /imload run scenarios\.yaml -s synthetic --seed 1/, 'the reproduce box has the command');
  assert.doesNotMatch(html, /id="cut-short"/, 'a completed run is not called cut short');
});

test('junit.xml: one case per threshold and per limit; a failed SLO and a missed limit fail, not reached is skipped', () => {
  // 20,000 users online with an SLO that cannot hold: the 20,000-user limit is missed at 20,000.
  const missed = syntheticRunDir({ seconds: 12, users: 20_000, rampSeconds: 4, rampDownSeconds: 2, fanOut: 5, thresholds: ['delivery.p99 < 0.001ms', 'errors.rate < 1%'] });
  const doc = parseXml(renderJunit(missed.summary));
  assert.equal(doc.name, 'testsuites');
  const cases = descendants(doc, 'testcase');
  assert.deepEqual(cases.map((c) => c.attributes.name), ['delivery.p99 < 0.001ms', 'errors.rate < 1%', 'users-per-chat-server: >= 20000 concurrent users']);
  const [slo, ok, limit] = cases as [typeof cases[0], typeof cases[0], typeof cases[0]];
  assert.equal(descendants(slo, 'failure').length, 1);
  assert.equal(ok.children.filter((c) => c.name === 'failure' || c.name === 'skipped').length, 0);
  assert.match(descendants(limit, 'failure')[0]!.attributes.message!, /^missed at 20,000: .*SLOs broke: delivery\.p99 < 0\.001ms/);
  assert.equal(doc.attributes.failures, '2');

  const small = syntheticRunDir({ seconds: 20, users: 50, rampSeconds: 5, thresholds: ['logon.p95 < 3s'] });
  const smallDoc = parseXml(renderJunit(small.summary));
  const skipped = descendants(smallDoc, 'skipped');
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!.attributes.message!, /the scenario asked for 50 users, fewer than 20,000/);
  assert.equal(smallDoc.attributes.skipped, '1');
  assert.equal(smallDoc.attributes.failures, '0');
});

test('summary.md carries the verdicts, thresholds and the reproduce command', async () => {
  const { dir, summary } = syntheticRunDir({ seconds: 30, users: 80, rampSeconds: 5, errorsAt: (t): Record<string, number> => (t === 20 ? { 'logon-timeout': 1 } : {}) });
  await writeRunOutputs(dir, summary);
  const md = readFileSync(join(dir, 'summary.md'), 'utf8');
  assert.match(md, /\| users-per-chat-server \| ≥ 20,000 concurrent users \| 80 \| ⏭️ not reached \|/);
  assert.match(md, /\| `errors.rate < 1%` \| [\d.]+ % \| < 1 % \| ✅ passed \|/);
  assert.match(md, /errors: 1 \(logon-timeout ×1\)/);
  assert.match(md, /Reproduce: `imload run scenarios\.yaml -s synthetic --seed 1`/);
});

test('a generator bottleneck is shown: banner on the page, and the limit it would have met is not reached', async () => {
  // 20,000 users online within every SLO, but the generator's event loop lagged 200 ms throughout.
  const { dir, summary } = syntheticRunDir({ seconds: 12, users: 20_000, rampSeconds: 4, rampDownSeconds: 2, fanOut: 5, thresholds: ['errors.rate < 1%'], eventLoopMs: () => 200 });
  assert.equal(summary.generator.bottleneck, true);
  await writeRunOutputs(dir, summary);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  assert.match(html, /<p class="banner warn">The load generator was the bottleneck: event-loop delay p99 above 100 ms/);
  const row = /<tr class="verdict-not-reached">[\s\S]*?<\/tr>/.exec(html);
  assert.ok(row, 'the verdict row is not-reached');
  assert.match(row[0], /not reached[\s\S]*the load generator was the bottleneck/);
});

test('a failed latency SLO says when it first broke and how many users were online then', async () => {
  // Deliveries turn slow (median 3 s) from second 40: delivery.p99 < 2s fails over the run.
  const { dir, summary } = syntheticRunDir({ seconds: 70, users: 2000, rampSeconds: 10, fanOut: 10, thresholds: ['delivery.p99 < 2s', 'logon.p95 < 3s'], deliveryMedianMs: (t) => (t >= 40 ? 3000 : 3) });
  assert.equal(summary.thresholds[0]!.ok, false);
  const model = await writeRunOutputs(dir, summary);
  assert.equal(model.sloOnsets.length, 1, 'only the failed SLO has an onset');
  const onset = model.sloOnsets[0]!;
  assert.equal(onset.threshold, 'delivery.p99 < 2s');
  assert.equal(onset.t, 40);
  assert.equal(onset.online, 2000);
  assert.ok(onset.value > 2000);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  assert.match(html, /<ul id="slo-onsets"><li><code>delivery\.p99 &lt; 2s<\/code> first broke at 40 s into the run/);
  assert.match(readFileSync(join(dir, 'summary.md'), 'utf8'), /`delivery\.p99 < 2s` first broke at 40 s with 2,000 users online/);
});
