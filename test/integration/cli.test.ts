/**
 * The command line as a user runs it: exit codes, error messages without stack traces, and a
 * run interrupted with Ctrl-C that still writes a valid summary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/lab/ports.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';
import { writeSyntheticJournal } from '../unit/report-synthetic-journal.js';

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function imload(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Finished> {
  const started = Date.now();
  const child = spawn(process.execPath, ['bin/imload.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    onStderr?.(stderr, child);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
}

const SCENARIO = (url: string, lab = '', hold = '10s') => `version: 1
targets:
  chat: { url: ${url}${lab ? `, lab: ${lab}` : ''} }
scenarios:
  tiny:
    target: chat
    timeScale: 600
    population: { users: 20, channels: { count: 2 } }
    phases:
      - { phase: rampUp, rate: 20 }
      - { phase: hold, duration: ${hold} }
`;

test('a scenario with a typo exits 2 and names the line', async () => {
  const { file } = writeScenario(SCENARIO('irc://127.0.0.1:6667').replace('timeScale', 'timeScael'));
  for (const args of [['validate', file], ['run', file, '-s', 'tiny']]) {
    const result = await imload(args);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`${file.replace(/[/.]/g, '\\$&')}:7:5: scenarios\\.tiny\\.timeScael: unknown key "timeScael"; did you mean "timeScale"\\?`));
    assert.doesNotMatch(result.stderr, /\bat .*\.ts:\d+/, 'no stack trace');
  }
});

test('bad command-line values exit 2', async () => {
  const { file } = writeScenario(SCENARIO('irc://127.0.0.1:6667'));
  const result = await imload(['run', file, '-s', 'tiny', '--users', 'many']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--users must be a whole number/);
  const target = await imload(['run', file, '-s', 'tiny', '--target', 'chat=http://x']);
  assert.equal(target.code, 2);
  assert.match(target.stderr, /--target: expected NAME=URL/);
  const missing = await imload(['run', file, '-s', 'nosuch']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no scenario named "nosuch" \(scenarios: tiny\)/);
});

test('--out a=b names a live output kind, so a folder with "=" in its name is written as a path (./a=b)', async () => {
  const { file, dir } = writeScenario(SCENARIO(`irc://127.0.0.1:${await freePort()}`));
  const refused = await imload(['run', file, '-s', 'tiny', '--out', 'my=run']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--out my=run: unknown output "my" \(one of prometheus, otlp, json\); for a run folder whose name contains "=", write it as a path: --out \.\/my=run/);
  // As a path it is the run folder: the run gets as far as the (unreachable) target.
  const folder = await imload(['run', file, '-s', 'tiny', '--out', join(dir, 'my=run')]);
  assert.equal(folder.code, 3, folder.stderr);
  assert.match(folder.stderr, /cannot reach target chat/);
});

test('an unreachable target exits 3 within 5 s and names the address', async () => {
  const port = await freePort();
  const { file, dir } = writeScenario(SCENARIO(`irc://127.0.0.1:${port}`));
  const result = await imload(['run', file, '-s', 'tiny', '--out', join(dir, 'run')]);
  assert.equal(result.code, 3, result.stderr);
  assert.ok(result.ms < 5000, `took ${result.ms} ms`);
  assert.match(result.stderr, new RegExp(`cannot reach target chat at 127\\.0\\.0\\.1:${port}: connection refused`));
});

test('a non-loopback target needs --allow-remote', async () => {
  const { file } = writeScenario(SCENARIO('irc://chat.staging.example:6667'));
  const result = await imload(['run', file, '-s', 'tiny']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /not on loopback: pass --allow-remote/);
});

test('Ctrl-C mid-run logs users off and leaves a valid summary.json (exit 130)', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(SCENARIO('irc://127.0.0.1:6667', 'inspircd', '5m'));
  const out = join(dir, 'run');
  let interrupted = false;
  const result = await imload(['run', file, '-s', 'tiny', '--lab', '--out', out], (stderr, child) => {
    // Interrupt once the progress line shows every user online (printed every 10 s when not a TTY).
    if (!interrupted && /online 20\/20/.test(stderr)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  assert.ok(interrupted, `never saw all users online:\n${result.stderr}`);
  assert.equal(result.code, 130, result.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.end.reason, 'interrupted');
  assert.equal(summary.users.peakOnline, 20);
  assert.equal(summary.users.logoffs, 20, 'every user logged off cleanly');
  assert.ok(summary.durationSeconds < 60, 'stopped long before the 5-minute hold ended');
  const lines = readFileSync(join(out, 'journal.ndjson'), 'utf8').trim().split('\n');
  assert.equal(JSON.parse(lines.at(-1)!).type, 'end');
  assert.ok(existsSync(join(out, 'summary.json')));
});

test('--out into a folder that is not empty is refused (exit 2) before anything starts; --overwrite empties an earlier run first', async () => {
  const port = await freePort();
  const { file, dir } = writeScenario(SCENARIO(`irc://127.0.0.1:${port}`));
  const out = join(dir, 'run');
  mkdirSync(out);
  writeFileSync(join(out, 'journal.ndjson'), '{"type":"header","runId":"earlier"}\n');
  writeFileSync(join(out, 'index.html'), '<p>earlier</p>');

  const refused = await imload(['run', file, '-s', 'tiny', '--out', out]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--out .*\/run is not empty \(2 entries: index\.html, journal\.ndjson\): a run folder holds one run; choose a new folder, or pass --overwrite/);
  assert.deepEqual(readdirSync(out).sort(), ['index.html', 'journal.ndjson'], 'nothing was touched');

  // The target is unreachable (exit 3), so the run stops right after emptying the folder.
  const overwritten = await imload(['run', file, '-s', 'tiny', '--out', out, '--overwrite']);
  assert.equal(overwritten.code, 3, overwritten.stderr);
  assert.deepEqual(readdirSync(out), [], 'the earlier run is gone');

  // --overwrite never empties a folder imload did not write.
  writeFileSync(join(out, 'notes.txt'), 'mine');
  const foreign = await imload(['run', file, '-s', 'tiny', '--out', out, '--overwrite']);
  assert.equal(foreign.code, 2, foreign.stderr);
  assert.match(foreign.stderr, /holds files imload did not write .*notes\.txt.*--overwrite empties only an earlier run's folder/);
  assert.deepEqual(readdirSync(out), ['notes.txt']);
});

test('report and compare refuse a journal holding two runs (exit 2), naming the file and both run ids', async () => {
  const mixed = mkdtempSync(join(tmpdir(), 'imload-two-runs-'));
  const journal = join(mixed, 'journal.ndjson');
  writeSyntheticJournal({ path: journal, seconds: 12, users: 20, rampSeconds: 4, runId: 'first-run' });
  writeSyntheticJournal({ path: journal, seconds: 12, users: 20, rampSeconds: 4, runId: 'second-run' });
  const single = mkdtempSync(join(tmpdir(), 'imload-one-run-'));
  writeSyntheticJournal({ path: join(single, 'journal.ndjson'), seconds: 12, users: 20, rampSeconds: 4, runId: 'only-run' });
  const expected = new RegExp(`${journal.replace(/[/.]/g, '\\$&')} holds two runs \\(first-run and second-run\\)`);
  for (const args of [['report', mixed], ['compare', single, mixed], ['compare', mixed, single]]) {
    const result = await imload(args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, expected);
    assert.doesNotMatch(result.stderr, /\bat .*\.ts:\d+/, 'no stack trace');
  }
  assert.ok(!existsSync(join(mixed, 'summary.json')), 'no report was written from the mixed journal');
});

test('compare exits 99 on a regression, 0 without one (CI can tell a failed gate from a crash); --json prints the same for pipelines', async () => {
  const run = (seed: number, deliveryMs: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'imload-cli-compare-'));
    writeSyntheticJournal({ path: join(dir, 'journal.ndjson'), seconds: 40, users: 500, rampSeconds: 5, fanOut: 20, seed, deliveryMedianMs: () => deliveryMs, runId: `seed-${seed}` });
    return dir;
  };
  const baseline = run(1, 3);
  const same = await imload(['compare', baseline, run(2, 3)]);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /^no regression$/m);
  const slowerDir = run(3, 12);
  const slower = await imload(['compare', baseline, slowerDir]);
  assert.equal(slower.code, 99, slower.stdout + slower.stderr);
  assert.match(slower.stdout, /^REGRESSION in .*delivery\.p99/m);

  // --json: stdout is one JSON document for a pipeline, with the same verdict and exit code.
  const json = await imload(['compare', baseline, slowerDir, '--json']);
  assert.equal(json.code, 99, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.version, 1);
  assert.equal(parsed.regression, true);
  assert.deepEqual([parsed.baseline.runId, parsed.run.runId], ['seed-1', 'seed-3']);
  assert.ok(parsed.regressions.includes('delivery.p99'), parsed.regressions.join(', '));
  const p99 = parsed.metrics.find((m: { metric: string }) => m.metric === 'delivery.p99');
  assert.equal(p99.status, 'regression');
  assert.equal(p99.unit, 'ms');
  assert.ok(p99.run > p99.baseline && p99.pWorse < parsed.alphaPerTest, JSON.stringify(p99));
  assert.equal(parsed.html, join(slowerDir, 'compare.html'));
  const calm = await imload(['compare', baseline, run(4, 3), '--json']);
  assert.equal(calm.code, 0, calm.stderr);
  assert.equal(JSON.parse(calm.stdout).regression, false);
});

test('a failed threshold exits 99; the terminal summary leads with the verdict, then ✓/✗ thresholds with units', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(`${SCENARIO('irc://127.0.0.1:6667', 'inspircd', '2s')}    thresholds: ['users.peakOnline >= 21', 'logon.p95 < 30s']\n`);
  const out = join(dir, 'run');
  const result = await imload(['run', file, '-s', 'tiny', '--lab', '--out', out]);
  assert.equal(result.code, 99, result.stderr);
  const lines = result.stdout.split('\n');
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.users.peakOnline, 20);
  assert.match(lines.find((l) => l.trim() !== '')!, /^✗ FAILED: 1 of 2 thresholds failed: users\.peakOnline; the run completed after [\d.]+ s$/);
  const at = lines.indexOf('thresholds');
  assert.ok(at > 0, result.stdout);
  assert.equal(lines[at + 1], '  ✗ users.peakOnline 20 >= 21');
  assert.match(lines[at + 2]!, /^ {2}✓ logon\.p95 [\d.]+ (ms|s) < 30 s$/);
  assert.ok(lines.findIndex((l) => l.startsWith('users ')) > at + 2, 'the figures come after the thresholds');
  // The progress line (every 10 s without a terminal; the first second always) shows elapsed of planned time and the phase.
  assert.match(result.stderr, /^ +1 s of [\d.]+ s {2}(rampUp|hold) +online \d+\/20 /m);
});

test('imload rvp-server --help prints the usage and exits 0; a bad option still exits 2', async () => {
  const help = await imload(['rvp-server', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: rvp-server --role home\|router\|combined/);
  const bad = await imload(['rvp-server', '--no-such-option']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown option '--no-such-option'/);
});

test('--repeat refuses what cannot be repeated (exit 2): zero repeats, a segment, a fixed start time', async () => {
  const { file } = writeScenario(SCENARIO('irc://127.0.0.1:6667'));
  const zero = await imload(['run', file, '-s', 'tiny', '--repeat', '0']);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--repeat must be a whole number ≥ 1/);
  const segment = await imload(['run', file, '-s', 'tiny', '--repeat', '2', '--segment', '1/2']);
  assert.equal(segment.code, 2);
  assert.match(segment.stderr, /cannot be combined with --segment/);
  const startAt = await imload(['run', file, '-s', 'tiny', '--repeat', '2', '--start-at', '0']);
  assert.equal(startAt.code, 2);
  assert.match(startAt.stderr, /cannot be combined with --start-at/);
  const gate = await imload(['run', file, '-s', 'tiny', '--repeat', '2', '--start-gate', tmpdir()]);
  assert.equal(gate.code, 2);
  assert.match(gate.stderr, /cannot be combined with --start-gate/);
});

test('run refuses two start clocks, or a start gate that is not a directory (exit 2)', async () => {
  const { file } = writeScenario(SCENARIO('irc://127.0.0.1:6667'));
  const both = await imload(['run', file, '-s', 'tiny', '--start-at', String(Date.now() + 60_000), '--start-gate', tmpdir()]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--start-at and --start-gate both say when the clock starts: give one/);
  const missing = join(tmpdir(), `imload-no-gate-${process.pid}`);
  const noDir = await imload(['run', file, '-s', 'tiny', '--start-gate', missing]);
  assert.equal(noDir.code, 2);
  assert.match(noDir.stderr, new RegExp(`--start-gate ${missing}: no such directory`));
});
