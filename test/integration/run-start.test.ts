/**
 * The start of a run, the clock given once the workers are ready (src/engine/coordinator.ts).
 *
 * A Ctrl-C while the workers are still loading (before the run's clock starts: a second or more,
 * much more for tens of thousands of users a worker) stops the run there: interrupted, nobody
 * logged on, the journal and the summary written. The abort listener used to be added only once
 * the clock had started, so a signal that came earlier was never heard and the run went on to
 * its end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import type { JournalEntry } from '../../src/metrics/journal.js';
import { EXIT } from '../../src/exit-codes.js';
import { StartGate } from '../../src/engine/start-gate.js';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

test('interrupted before the clock started: the run ends interrupted at once, with nobody logged on and its outputs written', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
scenarios:
  early:
    target: chat
    population: { users: 20, channels: { count: 0 } }
    behaviour: { messagesPerHour: 0 }
    phases:
      - { phase: rampUp, rate: 100 }
      - { phase: hold, duration: 2m }
`);
  const out = join(dir, 'run');
  // Aborted before the run begins: the earliest a Ctrl-C can come, certainly before the workers are ready.
  const controller = new AbortController();
  controller.abort();
  const started = performance.now();
  const { exitCode, result } = await runCommand({ file, scenario: 'early', lab: true, quiet: true, out, workers: 1, signal: controller.signal });
  const seconds = (performance.now() - started) / 1000;

  assert.equal(result.reason, 'interrupted');
  assert.equal(exitCode, EXIT.interrupted);
  assert.ok(seconds < 30, `stopped at once, not after the 2-minute hold (${seconds.toFixed(1)} s)`);
  const s = result.summary;
  assert.equal(s.users.logonAttempts, 0, 'nobody was scheduled');
  assert.equal(s.users.peakOnline, 0);
  const entries = readFileSync(join(out, 'journal.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as JournalEntry);
  assert.equal(entries[0]!.type, 'header');
  const end = entries.at(-1)!;
  assert.ok(end.type === 'end' && end.reason === 'interrupted', JSON.stringify(end));
  assert.ok(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')), 'summary.json written');
});

/**
 * A start time given for several hosts (--start-at) that this host's workers miss: the run starts
 * on it all the same (one clock with the other hosts), and its journal and summary say how late
 * the workers were. The workers are made slow by a scenario module that waits 6 s when a worker
 * imports it (the coordinator imports it at once, so the start time passes its check).
 */
test('workers ready after the --start-at given: the run keeps that clock and says how late they were', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const dir = mkdtempSync(join(tmpdir(), 'imload-start-late-'));
  const file = join(dir, 'slow-workers.mjs');
  writeFileSync(file, `// A worker runs src/engine/worker.ts (or dist/engine/worker.js): there, importing this takes 6 s.
if (/worker\\.[jt]s$/.test(process.argv[1] ?? '')) await new Promise((resolve) => setTimeout(resolve, 6000));
export default {
  version: 1,
  targets: { chat: { url: 'irc://127.0.0.1:6667', lab: 'inspircd' } },
  scenarios: { late: { target: 'chat', population: { users: 3, channels: { count: 0 } }, phases: [{ phase: 'rampUp', rate: 10 }, { phase: 'hold', duration: '12s' }], behaviour: { messagesPerHour: 0 } } },
};
export async function user(vu) {
  await vu.logon();
}
`);
  const out = join(dir, 'run');
  const startAt = Date.now() + 4000;
  const { result } = await runCommand({ file, scenario: 'late', lab: true, quiet: true, out, workers: 1, startAt, signal: new AbortController().signal });
  const s = result.summary;
  assert.equal(s.startedAt, new Date(startAt).toISOString(), 'the clock given, not a later one');
  assert.equal(s.users.logonOk, 3);
  const note = s.notes.find((n) => n.key === 'start-late');
  assert.ok(note, `a start-late note: ${JSON.stringify(s.notes)}`);
  const late = Number(/ready ([\d.]+) s after the start time given/.exec(note.text)?.[1]);
  assert.ok(late >= 1 && late < 30, note.text);
  assert.ok(s.latency.logonDelay.p50 >= late * 1000 - 1000, `the logons went out late: logon delay p50 ${s.latency.logonDelay.p50} ms`);
});

/**
 * Runs started together through a start gate (--start-gate; the lab's segment runs and the plan
 * lab's nine): the clock starts once the slowest run's workers are ready, the same for every run,
 * and nobody logs on late. One run's workers are made slow as above (4 s).
 */
test('two runs at one start gate, one slow to load: both start on one clock, once the slow one is ready, neither late', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const server = await startInspircd();
  const gate = new StartGate();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'imload-start-gate-'));
    const scenarioFile = (name: string, workerDelayMs: number): string => {
      const file = join(dir, `${name}.mjs`);
      writeFileSync(file, `if (/worker\\.[jt]s$/.test(process.argv[1] ?? '')) await new Promise((resolve) => setTimeout(resolve, ${workerDelayMs}));
export default {
  version: 1,
  targets: { chat: { url: '${server.url}' } },
  scenarios: { gated: { target: 'chat', population: { users: 3, channels: { count: 0 } }, phases: [{ phase: 'rampUp', rate: 10 }, { phase: 'hold', duration: '4s' }], behaviour: { messagesPerHour: 0 } } },
};
export async function user(vu) {
  await vu.logon();
}
`);
      return file;
    };
    const run = (name: string, workerDelayMs: number) =>
      runCommand({ file: scenarioFile(name, workerDelayMs), scenario: 'gated', quiet: true, out: join(dir, name), workers: 1, startGate: gate.dir, signal: new AbortController().signal });
    gate.expect(2);
    const began = Date.now();
    const runs = Promise.all([run('fast', 0), run('slow', 4000)]);
    const { at, notReady } = await gate.openWhenReady({ timeoutMs: 60_000 });
    const [fast, slow] = await runs;
    assert.equal(notReady, 0);
    assert.ok(at - began >= 4000, `opened once the slow run's workers were ready: ${at - began} ms after both began`);
    for (const { result } of [fast, slow]) {
      const s = result.summary;
      assert.equal(s.startedAt, new Date(at).toISOString(), 'the gate\'s clock');
      assert.equal(s.users.logonOk, 3);
      assert.equal(s.notes.find((n) => n.key === 'start-late'), undefined, `not late: ${JSON.stringify(s.notes)}`);
      assert.ok(s.latency.logonDelay.p50 < 1000, `logged on when due: logon delay p50 ${s.latency.logonDelay.p50} ms`);
    }
  } finally {
    gate.remove();
    await server.stop();
  }
});
