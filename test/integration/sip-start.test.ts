/**
 * A SIP target over UDP is probed before the run, as TCP targets are: nothing listening exits 3
 * naming the address and the cause (not a run of timeouts), and a lab Kamailio over UDP, which
 * answers the probe's OPTIONS, still starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const SCENARIO = (url: string, lab: boolean) => `version: 1
targets:
  sip: { url: ${url}, transport: udp, domain: it.test${lab ? ', lab: kamailio' : ''} }
scenarios:
  tiny:
    target: sip
    timeScale: 360
    population: { users: 10, contacts: 3 }
    phases:
      - { phase: rampUp, rate: 20 }
      - { phase: hold, duration: 2s }
`;

/** A UDP port on loopback with nothing bound: bind one, note it, close it. */
function closedUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((resolve) =>
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    }),
  );
}

test('a SIP target over UDP with nothing listening exits 3 naming the address and the cause', { timeout: 60_000 }, async () => {
  const port = await closedUdpPort();
  const { file, dir } = writeScenario(SCENARIO(`sip://127.0.0.1:${port}`, false));
  const out = join(dir, 'run');
  const child = spawn(process.execPath, ['bin/imload.js', 'run', file, '-s', 'tiny', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 3, stderr);
  assert.match(stderr, new RegExp(`cannot reach target sip at 127\\.0\\.0\\.1:${port}: nothing listens on this UDP port \\(ICMP port unreachable`));
  assert.ok(!existsSync(join(out, 'summary.json')), 'no run took place');
});

test('a lab Kamailio over UDP answers the probe and the run starts', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const { file, dir } = writeScenario(SCENARIO('sip://127.0.0.1:5060', true));
  const { result } = await runCommand({ file, scenario: 'tiny', lab: true, quiet: true, out: join(dir, 'run'), signal: new AbortController().signal });
  assert.equal(result.reason, 'completed', result.summary.end.detail);
  assert.equal(result.summary.users.logonOk, 10);
});
