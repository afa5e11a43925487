#!/usr/bin/env node
// Node 20's test runner does not expand globs, so list the test files here and hand them to
// `node --test` (TypeScript through tsx). Extra arguments are passed on (e.g. a file filter).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...find(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = find('test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Integration tests start real servers: run files one at a time so they do not fight for the two cores.
// --test-force-exit: on Node 20 a file whose tests are done but left a timer or socket open never
// exits, and every later file waits behind it (one leaked timer ran CI past its 90 minutes with no
// failure printed). Leaks in the product itself still fail: its tests run the CLI as a process and
// bound it. The whole run is bounded too, so CI prints what hung instead of being cut off silently.
const WHOLE_RUN_MS = 75 * 60_000;
// Its own process group, so a timeout ends the runner's file processes and the servers they started too.
const runner = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', '--test-reporter=spec', ...files],
  { stdio: 'inherit', detached: true },
);
// A Ctrl-C reaches the terminal's process group, which the runner has left: pass it on to the whole
// of the runner's group, the file processes included, as it reached them before.
const forward = (signal) => {
  try {
    process.kill(-runner.pid, signal);
  } catch {
    // The group has already gone: its exit ends this process too.
  }
};
process.on('SIGINT', forward).on('SIGTERM', forward);
const overtime = setTimeout(() => {
  console.error(`\nthe tests did not finish within ${WHOLE_RUN_MS / 60_000} minutes: the file running last above hung`);
  process.kill(-runner.pid, 'SIGKILL');
}, WHOLE_RUN_MS);
runner.on('exit', (code) => {
  clearTimeout(overtime);
  process.exit(code ?? 1);
});
