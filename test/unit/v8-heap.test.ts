/**
 * Compaction of imload's own heaps (src/v8-heap.ts): a worker's ramp's-end collection compacts
 * once and leaves later ones to V8; the coordinator's every full collection compacts; either
 * yields to a `--compact-on-every-full-gc` choice the process was started with. Each case in a
 * process of its own (test/fixtures/heap-compaction.ts), as the flag is process-wide.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const FIXTURE = fileURLToPath(new URL('../fixtures/heap-compaction.ts', import.meta.url));

/** Old space committed above what it holds after the first and the second collection, MiB. */
async function unused(how: 'plain' | 'ramp' | 'every', nodeFlags: string[] = []): Promise<{ first: number; second: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', ...nodeFlags, '--import', 'tsx', FIXTURE, how], { timeout: 60_000 });
  return JSON.parse(stdout) as { first: number; second: number };
}

const show = (label: string, u: { first: number; second: number }) => `${label}: ${u.first.toFixed(1)} then ${u.second.toFixed(1)} MiB committed unused`;

test("a worker's ramp's-end collection compacts, once; the coordinator's every collection does; a process's own choice stands", async () => {
  // Measured: a plain full collection leaves 13–42 MiB of the burst's pages committed; compacting, 1.0–1.4.
  const plain = await unused('plain');
  const [ramp, every, rampChosen, everyChosen] = await Promise.all([
    unused('ramp'),
    unused('every'),
    unused('ramp', ['--no-compact-on-every-full-gc']),
    unused('every', ['--no-compact-on-every-full-gc']),
  ]);
  const context = [show('plain', plain), show('ramp', ramp), show('every', every), show('ramp, chosen', rampChosen), show('every, chosen', everyChosen)].join('; ');
  const big = (mib: number) => mib > 8;
  const small = (mib: number) => mib < 4;
  assert.ok(big(plain.first) && big(plain.second), `the fixture must leave pages behind a plain collection: ${context}`);
  assert.ok(small(ramp.first), `the ramp's collection compacts: ${context}`);
  assert.ok(big(ramp.second), `after it, collections are V8's own again: ${context}`);
  assert.ok(small(every.first) && small(every.second), `every collection compacts: ${context}`);
  assert.ok(big(rampChosen.first) && big(everyChosen.first) && big(everyChosen.second), `the process's own flag stands: ${context}`);
});
