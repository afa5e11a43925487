/**
 * `--out prometheus=…` into a real Prometheus (2.42, started by src/lab/prometheus.ts with its
 * remote-write receiver and native histograms): a short lab run (InspIRCd, 20 users, a few
 * seconds) sent twice, with native histograms and with classic buckets. PromQL through the
 * HTTP API gives summary.json's online peak, delivered count and delivery p99 (native: within
 * the schema's bucket width; classic: in the bucket summary.json's p99 falls in), and every
 * panel query of deploy/grafana/dashboards/imload.json returns data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { readJournal, type JournalSecond } from '../../src/metrics/journal.js';
import { startPrometheus } from '../../src/lab/prometheus.js';
import { CLASSIC_BOUNDS_SECONDS, DEFAULT_NATIVE_SCHEMA, nativeResolution } from '../../src/outputs/histograms.js';
import type { Summary } from '../../src/analysis/summary.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const SCENARIO = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  live:
    description: 20 chat users talking for 5 s (Prometheus output test)
    target: chat
    seed: 11
    timeScale: 360
    population:
      users: 20
      channels: { count: 2, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: 40 }
      - { phase: hold, duration: 5s }
      - { phase: rampDown, rate: 40 }
    behaviour:
      messagesPerHour: 30
      channelMessagesPerHour: 20
      activityStart: rampUpEnd
`;

const DASHBOARD = join(import.meta.dirname, '../../deploy/grafana/dashboards/imload.json');

interface Panel {
  readonly title: string;
  readonly targets: ReadonlyArray<{ readonly refId: string; readonly expr: string }>;
}

test('a lab run exported to a real Prometheus: PromQL agrees with summary.json, and every dashboard query returns data', async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  if (!requireBinary(t, 'prometheus', 'prometheus')) return;
  const prometheus = await startPrometheus();
  try {
    const { file, dir } = writeScenario(SCENARIO);
    const out = join(dir, 'run');
    const { result } = await runCommand({
      file,
      scenario: 'live',
      lab: true,
      quiet: true,
      out,
      outputs: [`prometheus=${prometheus.writeUrl}?native=1`, `prometheus=${prometheus.writeUrl}`],
      signal: new AbortController().signal,
    });
    for (const o of result.outputs ?? []) assert.equal(o.failed, 0, `${o.description}: ${o.error}`);
    assert.equal(result.outputs?.length, 2);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    const seconds = readJournal(join(out, 'journal.ndjson')).filter((e): e is JournalSecond => e.type === 'second');
    for (const o of result.outputs!) assert.equal(o.sent, seconds.length, `${o.description}: every journaled second sent`);
    const at = seconds.at(-1)!.at / 1000;
    const run = `run="${summary.runId}"`;
    const scalar = async (promql: string): Promise<number> => {
      const vector = await prometheus.query(promql, at);
      assert.equal(vector.length, 1, `${promql}: one series, got ${JSON.stringify(vector)}`);
      return Number(vector[0]!.value![1]);
    };

    assert.ok(summary.users.peakOnline >= 15, `peak online ${summary.users.peakOnline}`);
    assert.equal(await scalar(`max_over_time(imload_users_online{${run}}[10m])`), summary.users.peakOnline);
    assert.equal(await scalar(`imload_users_peak_online{${run}}`), summary.users.peakOnline);
    assert.ok(summary.messages.delivered > 0, 'messages were delivered');
    assert.equal(await scalar(`imload_deliveries_received_total{${run}}`), summary.messages.delivered + summary.messages.unexpected);

    const p99 = summary.latency.delivery!.p99 / 1000;
    assert.ok(p99 > 0, 'a delivery p99');
    const native = await scalar(`histogram_quantile(0.99, imload_latency_seconds{latency="delivery",${run}})`);
    // Within one native bucket (2^(2^-schema) wide) of the HDR value, plus HDR's 0.1 %.
    const resolution = nativeResolution(DEFAULT_NATIVE_SCHEMA) + 0.001;
    assert.ok(Math.abs(native - p99) <= p99 * resolution, `native p99 ${native} s vs summary ${p99} s (resolution ${(resolution * 100).toFixed(1)} %)`);
    assert.equal(await scalar(`histogram_count(imload_latency_seconds{latency="delivery",${run}})`), summary.latency.delivery!.count);
    const classic = await scalar(`histogram_quantile(0.99, imload_latency_seconds_bucket{latency="delivery",${run}})`);
    const upper = CLASSIC_BOUNDS_SECONDS.find((b) => p99 <= b) ?? Infinity;
    const lower = [...CLASSIC_BOUNDS_SECONDS].reverse().find((b) => b < p99) ?? 0;
    assert.ok(classic > lower && classic <= upper, `classic p99 ${classic} s in summary's bucket (${lower}, ${upper}] (summary ${p99} s)`);

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
    assert.ok(dashboard.panels.length >= 8);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        // What Grafana substitutes: every run, and a window covering the run.
        const expr = target.expr.replaceAll('$run', '.*').replaceAll('$__rate_interval', '1m');
        const vector = await prometheus.query(expr, at);
        assert.ok(vector.length > 0, `panel "${panel.title}" query ${target.refId} returned no data: ${expr}`);
      }
    }
  } finally {
    await prometheus.stop();
  }
});
