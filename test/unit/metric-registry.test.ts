/**
 * The metric registry: a metric a protocol's descriptor declares reaches the recorder,
 * thresholds, the summary, compare, Markdown, JUnit and validate without any of them naming it;
 * docs/metrics.md carries the registry's table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINE_METRICS, MetricRegistry, MetricRegistryError, type ProtocolMetricSource } from '../../src/metrics/registry.js';
import * as grammar from '../../src/metrics/threshold-grammar.js';
import { MetricsRecorder } from '../../src/metrics/recorder.js';
import { RunAggregate } from '../../src/metrics/aggregate.js';
import { readJournal, type JournalEntry, type JournalHeader, type JournalSecond } from '../../src/metrics/journal.js';
import { buildSummary, metricValue, runFigures } from '../../src/analysis/summary.js';
import { METRICS, THRESHOLD_METRICS, parseThresholdCheck } from '../../src/protocols/metric-registry.js';
import { COMPARE_METRICS, compareRuns } from '../../src/report/compare.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderJunit } from '../../src/report/junit.js';
import { formatSummaryText } from '../../src/report/text.js';
import { figuresSection } from '../../src/report/html-sections.js';
import type { ReportModel } from '../../src/report/report-model.js';
import { writeSyntheticJournal } from './report-synthetic-journal.js';

/** Two made-up protocols, as their descriptors would declare their metrics. */
const SOURCES: ProtocolMetricSource[] = [
  {
    name: 'xyz',
    latencies: ['logon', 'delivery', 'presence'],
    metrics: [
      { name: 'bind', kind: 'latency', unit: 'ms', description: 'resource bind to its result' },
      { name: 'streamRestarts', kind: 'counter', unit: 'count', description: 'streams restarted' },
    ],
  },
  { name: 'abc', latencies: ['logon', 'join', 'delivery'] },
];
const registry = MetricRegistry.build(ENGINE_METRICS, SOURCES);

test('a descriptor’s metrics join the engine’s, with the protocols that produce each', () => {
  assert.deepEqual(registry.get('bind')?.protocols, ['xyz']);
  assert.equal(registry.get('bind')?.summary, 'latency.bind');
  assert.equal(registry.get('streamRestarts')?.summary, 'counters.streamRestarts');
  assert.deepEqual(registry.get('join')?.protocols, ['abc'], 'an engine latency is produced by the descriptors that name it');
  assert.deepEqual(registry.get('presence')?.protocols, ['xyz']);
  assert.equal(registry.get('logon')?.protocols, undefined, 'named by every descriptor: every protocol');
  assert.equal(registry.get('sendLag')?.protocols, undefined, 'the generator’s own lateness: every protocol');
  assert.equal(registry.produces(registry.get('streamRestarts')!, 'abc'), false);
  assert.deepEqual(registry.latencies().map((m) => m.name), ['logon', 'join', 'delivery', 'deliverySameServer', 'deliveryCrossServer', 'presence', 'logonDelay', 'sendLag', 'bind']);
});

test('a protocol metric is a threshold metric with its unit’s grammar', () => {
  const vocabulary = grammar.thresholdMetrics(registry);
  assert.ok(vocabulary.some((v) => v.startsWith('bind.pNN')) && vocabulary.includes('streamRestarts'), vocabulary.join('; '));
  assert.deepEqual(grammar.parseThresholdCheck(registry, 'bind.p99.9 < 2s'), { metric: 'bind.p99.9', op: '<', value: 2000 });
  assert.deepEqual(grammar.parseThresholdCheck(registry, 'streamRestarts <= 3'), { metric: 'streamRestarts', op: '<=', value: 3 });
  assert.match(grammar.parseThresholdCheck(registry, 'streamRestarts < 3s') as string, /time units only apply to latencies/);
  assert.match(grammar.parseThresholdCheck(registry, 'streamRestarts < 3%') as string, /"%" only applies to rates/);
  assert.equal(grammar.latencyOf(registry, 'bind.max'), 'bind');
  assert.equal(grammar.isThresholdMetric(registry, 'bind.count'), false, 'count is no latency statistic');
  assert.equal(grammar.isThresholdMetric(registry, 'sendLag.p99'), false, 'the generator’s lateness is reported, not gated');
  assert.match(grammar.parseThresholdCheck(MetricRegistry.build(ENGINE_METRICS, []), 'bind.p99 < 2s') as string, /unknown metric "bind.p99"/, 'without the descriptor, no such metric');
});

test('descriptors that disagree about a metric, or take an engine name, are refused', () => {
  const clash = (sources: ProtocolMetricSource[]) => assert.throws(() => MetricRegistry.build(ENGINE_METRICS, sources), MetricRegistryError);
  clash([
    { name: 'a', latencies: [], metrics: [{ name: 'bind', kind: 'latency', unit: 'ms', description: '' }] },
    { name: 'b', latencies: [], metrics: [{ name: 'bind', kind: 'counter', unit: 'count', description: '' }] },
  ]);
  clash([{ name: 'a', latencies: [], metrics: [{ name: 'delivery', kind: 'latency', unit: 'ms', description: '' }] }]);
  clash([{ name: 'a', latencies: [], metrics: [{ name: 'load', kind: 'gauge', unit: 'users', description: '' }] }]);
  clash([{ name: 'a', latencies: ['bind'] }]);
  clash([{ name: 'a', latencies: [], metrics: [{ name: 'x.y', kind: 'counter', unit: 'count', description: '' }] }]);
  // Alike in kind and unit: one metric both produce, each protocol's wording kept.
  const shared = MetricRegistry.build(ENGINE_METRICS, [
    { name: 'a', latencies: [], metrics: [{ name: 'bind', kind: 'latency', unit: 'ms', description: 'A' }] },
    { name: 'b', latencies: [], metrics: [{ name: 'bind', kind: 'latency', unit: 'ms', description: 'B' }] },
    { name: 'c', latencies: [] },
  ]);
  assert.deepEqual(shared.get('bind')?.protocols, ['a', 'b']);
  assert.equal(shared.get('bind')?.description, 'a: A; b: B');
});

test('the recorder records a protocol metric by name, and the summary and thresholds read it', () => {
  const recorder = new MetricsRecorder(0, registry);
  recorder.protocolMetric('bind', 12);
  for (let i = 0; i < 3; i++) recorder.protocolMetric('streamRestarts', 1);
  recorder.add('logonOk');
  assert.throws(() => recorder.protocolMetric('nonesuch', 1), /not registered/);
  assert.throws(() => new MetricsRecorder(0).protocolMetric('bind', 1), /not registered/, 'without a registry, no protocol metrics');
  const snapshot = recorder.snapshot();
  assert.equal(snapshot.counters.streamRestarts, 3);
  assert.equal(snapshot.counters.logonOk, 1, 'the engine’s counters keep their slots');
  assert.ok(snapshot.histograms.bind !== undefined);
  assert.deepEqual(recorder.snapshot().counters, {}, 'a snapshot is the delta since the last');

  const aggregate = new RunAggregate();
  aggregate.add({ type: 'second', t: 1, at: 1000, phase: 'hold', online: 1, counters: snapshot.counters, errors: {}, histograms: snapshot.histograms, health: [] });
  const figures = runFigures(aggregate, 1, undefined, registry);
  assert.equal(figures.latency.bind!.count, 1);
  assert.equal(figures.counters.streamRestarts, 3);
  assert.ok(Math.abs(metricValue(figures, 'bind.p99', aggregate.histograms, registry)! - 12) < 0.1);
  assert.ok(Math.abs(metricValue(figures, 'bind.p99.9', aggregate.histograms, registry)! - 12) < 0.1, 'any percentile, from the histogram');
  assert.equal(metricValue(figures, 'streamRestarts', aggregate.histograms, registry), 3);
  assert.equal(metricValue(figures, 'join.p99', aggregate.histograms, registry), null, 'no sample: not measured');
});

test('every threshold metric of the registry has a value where the registry says the summary keeps it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-registry-'));
  writeSyntheticJournal({ path: join(dir, 'journal.ndjson'), seconds: 30, users: 50, rampSeconds: 5, presence: true });
  const { summary, aggregate } = buildSummary(readJournal(join(dir, 'journal.ndjson')));
  for (const m of METRICS.all.filter((d) => d.threshold)) {
    const name = m.kind === 'latency' ? `${m.name}.p95` : m.name;
    assert.equal(typeof MetricRegistry.read(summary, m.summary), m.kind === 'latency' ? 'object' : 'number', `${m.name} at ${m.summary}`);
    if (m.kind !== 'latency' || summary.latency[m.name]!.count > 0) assert.equal(typeof metricValue(summary, name, aggregate.histograms), 'number', name);
  }
  assert.equal(THRESHOLD_METRICS.length, METRICS.all.filter((d) => d.threshold).length);
});

/** A SIP-like run: the synthetic journal with the SIP descriptor's metrics recorded. */
function sipRun(seed: number, retransmissionsPerSecond: number, extra?: (second: JournalSecond) => JournalSecond): JournalEntry[] {
  const dir = mkdtempSync(join(tmpdir(), 'imload-registry-'));
  writeSyntheticJournal({ path: join(dir, 'journal.ndjson'), seconds: 40, users: 200, rampSeconds: 5, presence: true, seed, thresholds: ['retransmissions < 100', 'register.p99 < 1s'] });
  const entries = readJournal(join(dir, 'journal.ndjson'));
  const header = entries[0] as JournalHeader;
  return [
    { ...header, target: { ...header.target, protocol: 'sip', url: 'sip://127.0.0.1:5060' } },
    ...entries.slice(1).map((entry) => {
      if (entry.type !== 'second') return entry;
      // SIP joins no channels: the synthetic run's IRC joins are left out.
      const { join: _join, ...histograms } = entry.histograms;
      const second: JournalSecond = { ...entry, counters: { ...entry.counters, retransmissions: retransmissionsPerSecond }, histograms };
      return extra ? extra(second) : second;
    }),
  ];
}

test('SIP’s retransmissions and register latency (its descriptor’s) reach the summary, thresholds, Markdown, JUnit, text and HTML', () => {
  const { summary } = buildSummary(sipRun(1, 3));
  assert.equal(summary.counters.retransmissions, 120);
  assert.equal(summary.retransmissions, 120, 'the schema-1 field keeps its figure');
  assert.ok(summary.latency.register!.count > 0, 'the synthetic run records IRC-style registrations too');
  const threshold = summary.thresholds.find((t) => t.metric === 'retransmissions')!;
  assert.equal(threshold.actual, 120);
  assert.equal(threshold.ok, false);
  const model = { summary, sloOnsets: [], cutShort: undefined, realTimeBandwidth: null } as unknown as ReportModel;
  const markdown = renderMarkdown(model);
  assert.match(markdown, /^- retransmissions: 120$/m);
  assert.match(markdown, /^\| register \| [\d.]+ ms \|/m);
  assert.match(markdown, /^\| presence \|/m, 'SIP produces presence');
  assert.doesNotMatch(markdown, /^\| join \|/m, 'SIP joins no channels, and none were measured');
  assert.match(renderJunit(summary), /<testcase name="retransmissions &lt; 100" [^>]*><failure message="retransmissions &lt; 100 failed: measured 120, limit &lt; 100"/);
  assert.match(formatSummaryText(summary, '/tmp/run'), /^sip +120 retransmissions$/m);
  assert.match(figuresSection(model), /<tr><th>retransmissions<\/th><td>120: requests sent again/);
});

test('compare judges a protocol counter on its per-second counts, and a protocol latency by its percentiles', () => {
  assert.ok(COMPARE_METRICS.some((m) => m.name === 'retransmissions') && COMPARE_METRICS.some((m) => m.name === 'register.p99'));
  const comparison = compareRuns([sipRun(1, 1)], [sipRun(2, 30)]);
  const retransmissions = comparison.metrics.find((m) => m.metric === 'retransmissions')!;
  assert.equal(retransmissions.baseline, 40);
  assert.equal(retransmissions.run, 1200);
  assert.equal(retransmissions.status, 'regression');
  assert.ok(comparison.metrics.some((m) => m.metric === 'register.p95' && m.baseline !== null), 'register compared');
});

test('a journal whose header declares a protocol metric this build lacks keeps its figures', () => {
  const entries = sipRun(1, 0, (second) => ({ ...second, counters: { ...second.counters, streamRestarts: 2 } }));
  const header = entries[0] as JournalHeader;
  const declared: JournalEntry[] = [{ ...header, metrics: [{ name: 'streamRestarts', kind: 'counter', unit: 'count', description: 'streams restarted', protocols: ['xyz'] }] }, ...entries.slice(1)];
  assert.equal(buildSummary(declared).summary.counters.streamRestarts, 80);
  assert.equal(buildSummary(entries).summary.counters.streamRestarts, undefined, 'without the header’s word, an unknown counter is not reported');
  // An old journal (no header metrics) with the counters of the time still reads.
  assert.equal(buildSummary(sipRun(1, 2)).summary.retransmissions, 80);
});

test('validate: a threshold on a metric the target’s protocol never produces is refused', () => {
  const retransmissions = METRICS.get('retransmissions')!;
  assert.equal(METRICS.produces(retransmissions, 'sip'), true);
  assert.equal(METRICS.produces(retransmissions, 'irc'), false);
  assert.deepEqual(parseThresholdCheck('retransmissions < 10'), { metric: 'retransmissions', op: '<', value: 10 });
});

test('docs/metrics.md carries the registry’s table, so every registered metric is documented', () => {
  const docs = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const section = /<!-- metric-registry:begin[^>]*-->\n([\s\S]*?)\n<!-- metric-registry:end -->/.exec(docs)?.[1];
  const table = METRICS.markdownTable();
  assert.equal(section, table, `docs/metrics.md § The metric registry is out of date; the table should read:\n${table}`);
  for (const m of METRICS.all) assert.ok(docs.includes(`\`${m.name}\``), `${m.name} is documented`);
});
