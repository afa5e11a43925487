/**
 * TLS asked for by the URL scheme alone (rvps://, sips://, no `transport: tls`): `run --lab`
 * starts the lab server with a certificate from a CA made for the run, points the target at the
 * TLS listener and verifies it with that CA. Before, the scheme was dropped on the way to the
 * lab and the run went over plain TCP/UDP without saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { startLabFor } from '../../src/lab/index.js';
import type { JournalHeader } from '../../src/metrics/journal.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 20;

function scenario(target: string): string {
  return `version: 1
targets:
  im: ${target}
scenarios:
  tls:
    target: im
    seed: 7
    timeScale: 1200
    population: { users: ${USERS}, contacts: 5 }
    phases:
      - { phase: rampUp, rate: 20 }
      - { phase: hold, duration: 8s }
    behaviour: { messagesPerHour: 3, presenceChangesPerHour: 2, activityStart: rampUpEnd, activityDelay: 2s, logonTimeout: 10s }
`;
}

async function run(target: string) {
  const { file, dir } = writeScenario(scenario(target));
  const { result, runDir } = await runCommand({ file, scenario: 'tls', quiet: true, lab: true, out: join(dir, 'run'), signal: new AbortController().signal });
  const header = JSON.parse(readFileSync(join(runDir, 'journal.ndjson'), 'utf8').split('\n')[0]!) as JournalHeader;
  return { summary: result.summary, header };
}

test('startLabFor rvp with transport tls serves rvps:// and hands over its CA', { timeout: 60_000 }, async () => {
  const lab = await startLabFor('rvp', { transport: 'tls', users: 5 });
  try {
    assert.match(lab.url, /^rvps:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(lab.transport, 'tls');
    assert.ok(lab.ca?.endsWith('ca.pem'), `CA: ${lab.ca}`);
  } finally {
    await lab.stop();
  }
});

test('an rvps:// lab target runs over verified HTTPS: every user logs on, IMs and presence arrive', { timeout: 120_000 }, async () => {
  const { summary: s, header } = await run('{ url: "rvps://127.0.0.1:8443", lab: rvp, domain: im.example.com }');
  assert.match(header.target.url, /^rvps:\/\//, `the run went to ${header.target.url}`);
  assert.equal(s.users.peakOnline, USERS, JSON.stringify(s.errors));
  assert.equal(s.users.logonFailures, 0);
  assert.ok(s.messages.sent > 0 && s.messages.delivered === s.messages.expected, JSON.stringify(s.messages));
  assert.ok(s.presence.changes > 0 && s.presence.seen === s.presence.expected, JSON.stringify(s.presence));
  assert.deepEqual(s.errors.byKind, {});
});

test('a sips:// lab target without `transport: tls` runs over TLS to Kamailio', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const { summary: s, header } = await run('{ url: "sips://127.0.0.1:5061", lab: kamailio, domain: lab.test }');
  assert.match(header.target.url, /^sips:\/\//, `the run went to ${header.target.url}`);
  assert.equal(s.users.peakOnline, USERS, JSON.stringify(s.errors));
  assert.equal(s.retransmissions, 0, 'a reliable transport never retransmits');
  assert.deepEqual(s.errors.byKind, {});
});
