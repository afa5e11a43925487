/**
 * IRC over TLS against a real InspIRCd with a TLS listener (ssl_gnutls) and a CA made for the
 * run: verified with the CA the users log on; verified without it they fail as `tls-error`
 * naming the endpoint; with `insecure: true` they log on without verification.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import { startLabFor } from '../../src/lab/index.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 10;

function scenario(target: string): string {
  return `version: 1
targets:
  chat: ${target}
scenarios:
  tls:
    target: chat
    timeScale: 600
    population: { users: ${USERS}, channels: { count: 2, perUser: { min: 1, max: 1 } } }
    phases:
      - { phase: rampUp, rate: 20 }
      - { phase: hold, duration: 6s }
    behaviour: { activityStart: rampUpEnd, activityDelay: 1s, logonTimeout: 5s }
`;
}

async function run(target: string) {
  const { file, dir } = writeScenario(scenario(target));
  return runCommand({ file, scenario: 'tls', quiet: true, lab: true, out: join(dir, 'run'), signal: new AbortController().signal });
}

test('startLabFor inspircd with transport tls gives an ircs:// URL and the CA', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const lab = await startLabFor('inspircd', { transport: 'tls' });
  try {
    assert.match(lab.url, /^ircs:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(lab.transport, 'tls');
    assert.ok(lab.ca && lab.ca.endsWith('ca.pem'));
    assert.equal(lab.primary.url, lab.url);
  } finally {
    await lab.stop();
  }
});

test('IRC over TLS with verification and the lab CA: every user logs on and messages flow', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { result } = await run('{ url: "ircs://127.0.0.1:6697", transport: tls, lab: inspircd }');
  const s = result.summary;
  assert.equal(s.users.peakOnline, USERS, JSON.stringify(s.errors));
  assert.equal(s.users.logonFailures, 0);
  assert.ok(s.messages.delivered > 0 && s.messages.lost === 0, JSON.stringify(s.messages));
  assert.deepEqual(s.errors.byKind, {});
});

test('IRC over TLS: verification without the CA fails as tls-error; insecure: true connects', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const server = await startInspircd({ tls: true });
  const tls = server.tls!;
  try {
    const refused = (await run(`{ url: "${tls.url}" }`)).result.summary;
    assert.equal(refused.users.peakOnline, 0);
    assert.ok(refused.users.logonFailures >= USERS, JSON.stringify(refused.users));
    assert.equal(refused.errors.byKind['tls-error'], refused.users.logonFailures, JSON.stringify(refused.errors.byKind));
    const note = refused.notes.find((n) => n.key === 'error:tls-error');
    assert.ok(note, JSON.stringify(refused.notes));
    // Names the endpoint and why (an unknown CA), so the fix (set tls.ca) is obvious.
    assert.match(note.text, new RegExp(`127\\.0\\.0\\.1:${tls.port}`));
    assert.match(note.text, /certificate/i);

    const insecure = (await run(`{ url: "${tls.url}", tls: { insecure: true } }`)).result.summary;
    assert.equal(insecure.users.peakOnline, USERS, JSON.stringify(insecure.errors));
    assert.deepEqual(insecure.errors.byKind, {});
  } finally {
    await server.stop();
  }
});
