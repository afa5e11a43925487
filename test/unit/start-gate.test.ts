/**
 * The start gate (src/engine/start-gate.ts): runs started together say they are ready, and the
 * clock starts once all are, or once the ones not ready are gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nextClockStart, StartGate, StartGateError, waitAtStartGate } from '../../src/engine/start-gate.js';

const WAIT = { timeoutMs: 10_000 };

test('the gate opens once every run expected is ready, at a whole second at least half a second away, the time every run gets', async () => {
  const gate = new StartGate();
  try {
    gate.expect(2);
    const first = waitAtStartGate(gate.dir, WAIT);
    let opened = false;
    const opening = gate.openWhenReady(WAIT).then((result) => {
      opened = true;
      return result;
    });
    // One of two ready: the gate stays shut while the second loads.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(opened, false, 'not opened with one of two runs ready');
    const second = waitAtStartGate(gate.dir, WAIT);
    const { at, notReady } = await opening;
    const openedAt = Date.now();
    assert.equal(notReady, 0);
    assert.equal(at % 1000, 0, 'a whole second');
    assert.ok(at - openedAt >= 400 && at - openedAt <= 1600, `at ${at - openedAt} ms from opening`);
    assert.deepEqual(await Promise.all([first, second]), [at, at]);
  } finally {
    gate.remove();
  }
});

test('a run that exits before it is ready does not hold the gate shut; one that is ready and exits counts once', async () => {
  const gate = new StartGate();
  try {
    gate.expect(3);
    const ready = waitAtStartGate(gate.dir, WAIT);
    gate.ended(process.pid); // the ready run, by its pid: already counted by its file
    gate.ended(999_999_999); // a run that failed while loading
    let opened = false;
    const opening = gate.openWhenReady(WAIT).then(() => (opened = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(opened, false, 'two of three accounted for: still shut');
    gate.ended(999_999_998);
    await opening;
    assert.equal(typeof (await ready), 'number');
  } finally {
    gate.remove();
  }
});

test('a gate that waited its time opens without the runs not ready, and says how many', async () => {
  const gate = new StartGate();
  try {
    gate.expect(2);
    const ready = waitAtStartGate(gate.dir, WAIT);
    const { at, notReady } = await gate.openWhenReady({ timeoutMs: 100 });
    assert.equal(notReady, 1);
    assert.equal(await ready, at);
  } finally {
    gate.remove();
  }
});

test('the run side: a start file opened by hand, a gate never opened, a start that is no time, an interrupt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-gate-test-'));
  // A person opening it: any epoch time in ms. The shell creates the file before it writes the time:
  // the run's first look (synchronous, inside the call) finds it empty and must wait, not refuse it.
  writeFileSync(join(dir, 'start'), '');
  const waiting = waitAtStartGate(dir, WAIT);
  assert.ok(readdirSync(dir).some((name) => name.startsWith(`ready-${process.pid}.`)), 'the run said it is ready');
  writeFileSync(join(dir, 'start'), '1900000000000\n');
  assert.equal(await waiting, 1_900_000_000_000);

  const shut = mkdtempSync(join(tmpdir(), 'imload-gate-test-'));
  await assert.rejects(waitAtStartGate(shut, { timeoutMs: 100 }), (error: unknown) => error instanceof StartGateError && /was not opened within/.test(error.message));

  const garbled = mkdtempSync(join(tmpdir(), 'imload-gate-test-'));
  writeFileSync(join(garbled, 'start'), 'soon');
  await assert.rejects(waitAtStartGate(garbled, WAIT), (error: unknown) => error instanceof StartGateError && /holds "soon", not an epoch time/.test(error.message));

  const interrupted = mkdtempSync(join(tmpdir(), 'imload-gate-test-'));
  const controller = new AbortController();
  const aborted = waitAtStartGate(interrupted, { ...WAIT, signal: controller.signal });
  controller.abort();
  assert.equal(await aborted, undefined);

  await assert.rejects(waitAtStartGate(join(dir, 'missing', 'deeper'), WAIT), (error: unknown) => error instanceof StartGateError && /cannot write to the start gate/.test(error.message));
});

test('a run whose gate nobody will open stops waiting at once: the directory removed, or its opener gone without opening it', async () => {
  const LONG = { timeoutMs: 60_000 };
  const removed = new StartGate();
  const waiting = waitAtStartGate(removed.dir, LONG);
  removed.remove();
  await assert.rejects(waiting, (error: Error) => error instanceof StartGateError && /was removed before it opened/.test(error.message));

  // The lab killed outright: a gate made by a process that has exited, its directory left behind.
  const opener = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/engine/start-gate.ts').then((m) => process.stdout.write(new m.StartGate().dir))"], { encoding: 'utf8' });
  assert.equal(opener.status, 0, opener.stderr);
  const dir = opener.stdout;
  try {
    const started = Date.now();
    await assert.rejects(waitAtStartGate(dir, LONG), (error: Error) => error instanceof StartGateError && new RegExp(`\\(pid ${opener.pid}\\) has exited without opening it`).test(error.message));
    assert.ok(Date.now() - started < 5000, 'noticed at once, not at the timeout');
    // Opened before it exited: the run starts.
    writeFileSync(join(dir, 'start'), `${Date.now() + 1000}\n`);
    assert.equal(typeof (await waitAtStartGate(dir, LONG)), 'number');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nextClockStart: the next whole second at least half a second away', () => {
  assert.equal(nextClockStart(10_000), 11_000);
  assert.equal(nextClockStart(10_499), 11_000);
  assert.equal(nextClockStart(10_500), 11_000);
  assert.equal(nextClockStart(10_501), 12_000);
});
