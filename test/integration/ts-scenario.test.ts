/** A scenario written in TypeScript (imload/api) type-checks and runs, its users scripted by user(vu). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { requireBinary } from '../helpers/require.js';

const FIXTURE = 'test/fixtures/scripted-scenario.ts';

test('the TypeScript scenario type-checks against the published API', () => {
  const tsc = spawnSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '--noEmit', '--ignoreConfig', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', FIXTURE],
    { encoding: 'utf8' },
  );
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test('imload run my-scenario.ts runs the scripted users in the workers', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const out = join(mkdtempSync(join(tmpdir(), 'imload-ts-')), 'run');
  const { result } = await runCommand({ file: FIXTURE, scenario: 'typed', lab: true, quiet: true, out, workers: 2, signal: new AbortController().signal });
  const s = result.summary;
  assert.deepEqual(s.scripts, { completed: 4, expectsMet: 1, expectsFailed: 0 });
  assert.equal(s.messages.channelSent, 3, 'three users greeted');
  assert.equal(s.users.peakOnline, 4);
  assert.deepEqual(s.errors.byKind, {});
});

test('a module whose default export breaks the schema is bad input naming the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-ts-bad-'));
  const file = join(dir, 'bad.mjs');
  (await import('node:fs')).writeFileSync(file, "export default { version: 1, targets: {}, scenarios: { x: { target: 't', population: { users: 'many' }, phases: [] } } };\n");
  const run = spawnSync(process.execPath, ['bin/imload.js', 'validate', file], { encoding: 'utf8' });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /bad\.mjs: default\.scenarios\.x\.population\.users: /);
});
