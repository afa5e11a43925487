/**
 * The published package, as a user gets it: `npm pack` (which builds dist/ through prepack), then
 * `npm install <tarball>` into an empty folder, from npm's cache (filled by the repository's
 * `npm ci`). From there: no install script ran or was warned about, no tsx or esbuild came along,
 * the UDP addon is absent until the package's own build script makes it (then the compiled code uses it),
 * `imload --help` answers well under a second, a TypeScript scenario importing `imload/api`
 * type-checks against the shipped .d.ts and validates, short runs against lab servers work
 * (compiled workers, the compiled RVP server, the scenario's user(vu) in the workers), and
 * without the optional @napi-rs/canvas the report is rebuilt with a note instead of PNGs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../helpers/require.js';

const REPO = realpathSync('.');
const WORK = mkdtempSync(join(tmpdir(), 'imload-package-'));
const APP = join(WORK, 'app');
const INSTALLED = join(APP, 'node_modules', 'imload');
const BIN = join(INSTALLED, 'bin', 'imload.js');

/** The environment without npm's own variables, so `npm test` around us changes nothing here. */
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
}

function imload(...args: string[]): SpawnSyncReturns<string> & { ms: number } {
  const start = performance.now();
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: APP, env, encoding: 'utf8', timeout: 90_000 });
  return Object.assign(result, { ms: performance.now() - start });
}

let installOutput = '';

before(() => {
  const packed = npm(['pack', '--pack-destination', WORK, '--json'], REPO);
  assert.equal(packed.status, 0, packed.stderr);
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
  mkdirSync(APP);
  const installed = npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(WORK, filename)], APP);
  installOutput = installed.stdout + installed.stderr;
  assert.equal(installed.status, 0, installOutput);
});

after(() => rmSync(WORK, { recursive: true, force: true }));

test('the packed package installs with no install script and carries no tsx, esbuild or sources', () => {
  assert.doesNotMatch(installOutput, /install-scripts|allowScripts|postinstall|preinstall/i, installOutput);
  for (const name of ['tsx', 'esbuild', 'typescript']) assert.ok(!existsSync(join(APP, 'node_modules', name)), `${name} was installed`);
  assert.ok(existsSync(join(INSTALLED, 'dist', 'cli.js')) && existsSync(join(INSTALLED, 'dist', 'api.d.ts')), 'dist/ is shipped');
  assert.ok(!existsSync(join(INSTALLED, 'src')) && !existsSync(join(INSTALLED, 'test')), 'sources and tests are not shipped');
  assert.ok(existsSync(join(INSTALLED, 'scenarios.yaml')), 'the demo scenarios are shipped');
});

test('the installed package has no UDP addon until its own script builds it in place; its compiled code then uses it', () => {
  const backend = (): { backend: string; reason?: string } => {
    const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(join(INSTALLED, 'dist', 'protocols', 'connected-udp.js'))}); console.log(JSON.stringify(m.connectedUdpBackend()));`], { cwd: APP, env, encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    return JSON.parse(probe.stdout) as { backend: string; reason?: string };
  };
  const before = backend();
  assert.equal(before.backend, 'node:dgram');
  // The reason a run's note gives names the command that builds it.
  const command = `node ${join(INSTALLED, 'scripts', 'build-native.mjs')}`;
  assert.ok((before.reason ?? '').includes(`not built here: imload lab install or ${command} builds it`), before.reason);
  const built = spawnSync(process.execPath, [join(INSTALLED, 'scripts', 'build-native.mjs'), '--required'], { cwd: APP, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(built.status, 0, built.stdout + built.stderr);
  assert.ok(existsSync(join(INSTALLED, 'native', 'udp', 'build', 'imload_udp.node')));
  assert.deepEqual(backend(), { backend: 'native' });
});

test('imload --help prints in well under a second (median of 3)', (t) => {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const help = imload('--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: imload /);
    times.push(help.ms);
  }
  const median = [...times].sort((a, b) => a - b)[1]!;
  t.diagnostic(`imload --help from the installed package: median ${median.toFixed(0)} ms (${times.map((ms) => ms.toFixed(0)).join(', ')})`);
  assert.ok(median < 1000, `median ${median.toFixed(0)} ms`);
});

test('a TypeScript scenario in the user\'s folder type-checks against imload/api and validates', () => {
  copyFileSync(join(REPO, 'test/fixtures/scripted-scenario.ts'), join(APP, 'my-scenario.ts'));
  writeFileSync(join(APP, 'wrong.ts'), "import { defineScenarios } from 'imload/api';\nexport default defineScenarios({ version: 2, targets: {}, scenarios: {} });\n");
  // The user's own tsc would find the types through the package's exports (dist/api.d.ts).
  const tsc = spawnSync(
    process.execPath,
    [join(REPO, 'node_modules/typescript/bin/tsc'), '--noEmit', '--ignoreConfig', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', '', 'my-scenario.ts', 'wrong.ts'],
    { cwd: APP, encoding: 'utf8' },
  );
  const errors = tsc.stdout.split('\n').filter((line) => /error TS/.test(line));
  assert.equal(errors.length, 1, tsc.stdout + tsc.stderr);
  assert.match(errors[0]!, /^wrong\.ts\(2,\d+\): error TS2322: Type '2' is not assignable to type '1'/);

  const validated = imload('validate', 'my-scenario.ts');
  assert.equal(validated.status, 0, validated.stderr);
  assert.match(validated.stdout, /^my-scenario\.ts: ok \(1 scenarios, 1 targets\)/);
});

test('a scenario module split over files loads as TypeScript: .js and .ts imports, an enum, type imports without `type`', () => {
  writeFileSync(join(APP, 'helper.ts'), 'export enum Size { Small = 3 }\nexport interface Shape { users: number }\nexport function population(size: Size): Shape { return { users: size }; }\n');
  writeFileSync(join(APP, 'seed.ts'), 'export const seed: number = 11;\n');
  writeFileSync(
    join(APP, 'split.ts'),
    `import { defineScenarios, ScenarioFileInput } from 'imload/api';
import { population, Size, Shape } from './helper.js';
import { seed } from './seed.ts';
const shape: Shape = population(Size.Small);
const config: ScenarioFileInput = {
  version: 1,
  targets: { chat: { url: 'irc://127.0.0.1:6667', lab: 'inspircd' } },
  scenarios: { split: { target: 'chat', seed, population: { ...shape, contacts: 2 }, phases: [{ phase: 'hold', duration: '2s' }] } },
};
export default defineScenarios(config);
`,
  );
  const validated = imload('validate', 'split.ts');
  assert.equal(validated.status, 0, validated.stderr);
  assert.match(validated.stdout, /^split\.ts: ok \(1 scenarios, 1 targets\)/);
});

test('a short run against the lab RVP server runs from the installed package (compiled server and workers)', { timeout: 90_000 }, () => {
  writeFileSync(
    join(APP, 'tiny.yaml'),
    `version: 1
targets:
  im: { url: 'rvp://127.0.0.1:8080', lab: rvp, domain: im.example.com }
scenarios:
  tiny:
    target: im
    seed: 5
    timeScale: 60
    population: { users: 10, contacts: 4 }
    phases:
      - { phase: rampUp, rate: 10 }
      - { phase: hold, duration: 3s }
    behaviour: { messagesPerHour: 60, activityStart: rampUpEnd }
`,
  );
  const run = imload('run', 'tiny.yaml', '-s', 'tiny', '--lab', '--workers', '2', '--quiet', '--out', 'rvp-run');
  assert.equal(run.status, 0, run.stderr);
  const summary = JSON.parse(readFileSync(join(APP, 'rvp-run', 'summary.json'), 'utf8')) as { users: { peakOnline: number }; errors: { byKind: Record<string, number> } };
  assert.equal(summary.users.peakOnline, 10, 'every user logged on to the compiled RVP server');
  assert.deepEqual(summary.errors.byKind, {});
  assert.ok(existsSync(join(APP, 'rvp-run', 'index.html')));
  assert.ok(readdirSync(join(APP, 'rvp-run', 'charts')).some((name) => name.endsWith('.png')), 'PNG charts with @napi-rs/canvas installed');
});

test('the typed scenario\'s user(vu) runs in the compiled workers against the lab InspIRCd', { timeout: 90_000 }, (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const run = imload('run', 'my-scenario.ts', '-s', 'typed', '--lab', '--workers', '2', '--quiet', '--out', 'typed-run');
  assert.equal(run.status, 0, run.stderr);
  const summary = JSON.parse(readFileSync(join(APP, 'typed-run', 'summary.json'), 'utf8')) as { users: { peakOnline: number }; scripts: { completed: number; expectsMet: number } };
  assert.equal(summary.users.peakOnline, 4);
  assert.equal(summary.scripts.completed, 4, 'the workers ran the module\'s user(vu)');
  assert.equal(summary.scripts.expectsMet, 1);
});

test('without the optional @napi-rs/canvas the report is rebuilt with a note and no PNG', () => {
  // What an install that skipped or failed the optional native package leaves.
  rmSync(join(APP, 'node_modules', '@napi-rs'), { recursive: true, force: true });
  const report = imload('report', 'rvp-run');
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stderr, /charts\/\*\.png not written: the optional package @napi-rs\/canvas is not installed/);
  assert.ok(existsSync(join(APP, 'rvp-run', 'index.html')) && existsSync(join(APP, 'rvp-run', 'summary.json')));
  assert.deepEqual(readdirSync(join(APP, 'rvp-run', 'charts')).filter((name) => name.endsWith('.png')), []);
});
