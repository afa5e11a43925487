/**
 * `imload lab up|status|down` as a user runs them: a server started in the background outlives
 * the command, is listed while it runs, and is gone after `down`; an unknown kind is refused with
 * the known ones named and the bad-input exit code. Prometheus is the kind started here: the
 * quickest of the lab's servers to start, and `up` must say where to send `--out prometheus=`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROMETHEUS_BINARY } from '../../src/lab/prometheus.js';
import { EXIT } from '../../src/exit-codes.js';
import { requireBinary } from '../helpers/require.js';

// Each test's lab state in its own folder: `imload lab` keeps state.json under the temp dir.
const env = { ...process.env, TMPDIR: mkdtempSync(join(tmpdir(), 'imload-lab-up-')) };
const imload = (...args: string[]) => spawnSync(process.execPath, ['bin/imload.js', 'lab', ...args], { env, encoding: 'utf8', timeout: 60_000 });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('lab up prometheus starts a receiver that outlives the command; status lists it; down stops it', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, PROMETHEUS_BINARY, 'prometheus')) return;
  const up = imload('up', 'prometheus');
  assert.equal(up.status, 0, up.stderr);
  const match = /^prometheus\s+(http:\/\/127\.0\.0\.1:\d+)\s+pid (\d+) \(run with --out prometheus=(\S+)\)$/m.exec(up.stdout);
  assert.ok(match, up.stdout);
  const [, url, pidText, writeUrl] = match;
  const pid = Number(pidText);
  try {
    assert.equal(writeUrl, `${url}/api/v1/write`);
    const ready = await fetch(`${url}/-/ready`);
    assert.equal(ready.status, 200, 'the receiver answers after `up` has exited');
    const status = imload('status');
    assert.match(status.stdout, new RegExp(`^prometheus\\s+${url.replace(/[.:/]/g, '\\$&')}\\s+pid ${pid} running$`, 'm'));
    const down = imload('down');
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`stopped prometheus pid ${pid}`));
    assert.equal(alive(pid), false, 'down stopped it');
    assert.match(imload('status').stdout, /no lab servers recorded/);
  } finally {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});

test('lab up with an unknown kind names the known ones and exits with the bad-input code', () => {
  const up = imload('up', 'inspirc');
  assert.equal(up.status, EXIT.badInput);
  assert.match(up.stderr, /unknown lab server "inspirc" \(known: .*inspircd.*prometheus\)/);
  assert.doesNotMatch(up.stderr, /\n\s+at /, 'no stack trace');
});
