/**
 * `imload run --repeat 2` on a lab server, as a person runs it: two whole runs of the same seeded
 * scenario in repeat-1/ and repeat-2/, the combined summary, and compare on the repeat folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

function imload(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/imload.js', ...args], { maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('run --repeat 2: each repeat in its own folder on a fresh lab server, medians in repeat-summary.json, compare reads the folder', { timeout: 150_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  tiny:
    target: chat
    seed: 7
    timeScale: 600
    population: { users: 20, channels: { count: 2 } }
    phases:
      - { phase: rampUp, rate: 20 }
      - { phase: hold, duration: 3s }
    thresholds: ['users.peakOnline >= 20']
`);
  const out = join(dir, 'repeats');
  // A live output follows the repeats too: one json file, each line labelled with its repeat.
  const seconds = join(dir, 'seconds.ndjson');
  const result = await imload(['run', file, '-s', 'tiny', '--lab', '--repeat', '2', '--out', out, '--out', `json=${seconds}`]);
  assert.equal(result.code, 0, result.stderr);

  const summaries = [1, 2].map((i) => JSON.parse(readFileSync(join(out, `repeat-${i}`, 'summary.json'), 'utf8')));
  for (const s of summaries) {
    assert.equal(s.seed, 7, 'the same seed every time');
    assert.equal(s.end.reason, 'completed');
    assert.ok(s.reproduce.server, 'the lab started the server for this repeat');
  }
  assert.notEqual(summaries[0].runId, summaries[1].runId, 'two runs, not one');
  const headers = [1, 2].map((i) => JSON.parse(readFileSync(join(out, `repeat-${i}`, 'journal.ndjson'), 'utf8').split('\n')[0]!));
  assert.ok(headers[1].startEpochMs > headers[0].startEpochMs, 'one after the other');

  const lines = readFileSync(seconds, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: number; labels: { run: string; repeat: string } });
  for (const i of [1, 2]) {
    const journaled = readFileSync(join(out, `repeat-${i}`, 'journal.ndjson'), 'utf8').split('\n').filter((l) => l.includes('"type":"second"')).length;
    const mine = lines.filter((l) => l.labels.repeat === String(i));
    assert.equal(mine.length, journaled, `repeat ${i}: one json line per journaled second`);
    assert.ok(mine.every((l) => l.labels.run === summaries[i - 1].runId), `repeat ${i}: its own run label`);
  }
  assert.deepEqual([...new Set(lines.map((l) => l.labels.repeat))], ['1', '2'], 'repeat 1 first, then repeat 2, in one file');

  const repeat = JSON.parse(readFileSync(join(out, 'repeat-summary.json'), 'utf8'));
  assert.equal(repeat.repeats, 2);
  assert.deepEqual(repeat.runs.map((r: { folder: string }) => r.folder), ['repeat-1', 'repeat-2']);
  const values = (pick: (s: typeof summaries[0]) => number) => summaries.map(pick);
  for (const [metric, pick] of [
    ['users.peakOnline', (s: typeof summaries[0]) => s.users.peakOnline],
    ['logon.p95', (s: typeof summaries[0]) => s.latency.logon.p95],
    ['delivery.p99', (s: typeof summaries[0]) => s.latency.delivery.p99],
    ['errors.rate', (s: typeof summaries[0]) => s.errors.rate],
  ] as const) {
    const v = values(pick);
    const f = repeat.figures[metric];
    assert.deepEqual(f.values, v, metric);
    assert.deepEqual([f.median, f.min, f.max], [(v[0]! + v[1]!) / 2, Math.min(...v), Math.max(...v)], metric);
  }
  assert.equal(repeat.figures['users.peakOnline'].median, 20);
  assert.ok(existsSync(join(out, 'repeat-summary.md')));
  assert.match(result.stdout, /^2 of 2 repeats of tiny \(seed 7\)$/m);

  const compared = await imload(['compare', out, out, '--json']);
  assert.equal(compared.code, 0, compared.stderr);
  const json = JSON.parse(compared.stdout);
  assert.deepEqual([json.baseline.runs, json.baseline.basis], [2, 'median of 2 runs']);
  assert.equal(json.regression, false);

  // The repeat folder now holds runs: a second --repeat into it is refused before anything starts.
  const again = await imload(['run', file, '-s', 'tiny', '--lab', '--repeat', '2', '--out', out]);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /is not empty/);
});
