/** A scenario written in TypeScript (imload/api) type-checks and runs, its users scripted by user(vu). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

/**
 * As a user would: a project folder outside the repository (no package.json of its own, so no
 * `"type": "module"`), imload installed into its node_modules (what `npm install <path>` makes:
 * a link), and a scenario named plain `.ts` that imports `imload/api` and scripts its users.
 * Only the CLI named by package.json's `bin` is used, so the test holds whatever loads the
 * TypeScript.
 */
test('a .ts scenario in a user\'s own folder validates and runs through the imload CLI', { timeout: 120_000 }, async (t) => {
  const repo = realpathSync('.');
  const cli = resolve(repo, (JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { imload: string } }).bin.imload);
  const project = mkdtempSync(join(tmpdir(), 'imload-user-project-'));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(repo, join(project, 'node_modules', 'imload'), 'dir');
  copyFileSync(FIXTURE, join(project, 'my-scenario.ts'));
  const imload = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: project, encoding: 'utf8', timeout: 100_000 });

  const validated = imload('validate', 'my-scenario.ts');
  assert.equal(validated.status, 0, validated.stderr);
  assert.match(validated.stdout, /^my-scenario\.ts: ok \(1 scenarios, 1 targets\)/);
  // 20 contacts (the default) with 4 users: a warning, and a note in the run's report.
  assert.match(validated.stderr, /^my-scenario\.ts: warning: default\.scenarios\.typed\.population\.contacts: 20 contacts with 4 users/);

  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const run = imload('run', 'my-scenario.ts', '-s', 'typed', '--lab', '--quiet', '--out', 'run');
  assert.equal(run.status, 0, run.stderr);
  const summary = JSON.parse(readFileSync(join(project, 'run', 'summary.json'), 'utf8')) as {
    users: { peakOnline: number };
    scripts: { completed: number };
    notes: Array<{ key: string; text: string }>;
  };
  assert.equal(summary.users.peakOnline, 4);
  assert.equal(summary.scripts.completed, 4, 'the workers ran the module\'s user(vu)');
  assert.ok(summary.notes.some((n) => n.key === 'scenario-contacts' && /20 contacts with 4 users/.test(n.text)), JSON.stringify(summary.notes));
});
