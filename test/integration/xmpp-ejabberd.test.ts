/**
 * XMPP load end to end through the engine's run API against a real ejabberd the lab starts
 * (src/protocols/xmpp/lab-ejabberd.ts): users log on (STARTTLS or plain, SASL, bind), subscribe
 * to 20 contacts (live, or from rosters provisioned in bulk before the start), change presence,
 * send chat messages and talk in MUC rooms. Every message arrives exactly once, every scheduled
 * presence change reaches every watcher the schedule has online, and ejabberd's own count of
 * sessions (`ejabberdctl connected_users_number`) equals imload's.
 * Helpers follow test/integration/xmpp-prosody.test.ts (same scenario, same assertions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir, hostname, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../../src/engine/coordinator.js';
import { Scenario } from '../../src/scenarios/schema.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import { startEjabberd, startEjabberdLab } from '../../src/protocols/xmpp/lab-ejabberd.js';
import { ejabberdRoster } from '../../src/protocols/xmpp/ejabberd-node.js';
import { provisionAccounts } from '../../src/protocols/xmpp/provision.js';
import type { LabTarget } from '../../src/lab/types.js';
import type { AgentTarget } from '../../src/protocols/types.js';
import { requireBinary } from '../helpers/require.js';

const PASSWORD_ENV = 'IMLOAD_TEST_XMPP_PASSWORD';
const PASSWORD = 'it-xmpp-secret-7';
const USERS = 40;

function scenario(): Scenario {
  return Scenario.parse({
    target: 'xmpp',
    seed: 11,
    timeScale: 360,
    population: { users: USERS, contacts: 20, channels: { count: 4, perUser: { min: 1, max: 2 } } },
    phases: [
      { phase: 'rampUp', rate: 40 },
      { phase: 'hold', duration: '14s' },
      { phase: 'rampDown', rate: 100 },
    ],
    behaviour: {
      messagesPerHour: 4,
      channelMessagesPerHour: 3,
      presenceChangesPerHour: 3,
      activityStart: 'rampUpEnd',
      activityDelay: '2s',
    },
  });
}

async function run(lab: LabTarget, starttls: 'auto' | 'never', s: Scenario) {
  process.env[PASSWORD_ENV] = PASSWORD;
  const url = new URL(lab.url);
  const target: AgentTarget = {
    name: 'xmpp',
    protocol: 'xmpp',
    host: url.hostname,
    port: Number(url.port),
    transport: 'tcp',
    domain: lab.domain,
    tls: { ca: lab.ca, insecure: false },
    options: { ...lab.options, starttls },
  };
  const dir = mkdtempSync(join(tmpdir(), 'imload-xmpp-'));
  return runScenario({
    header: {
      runId: 'xmpp-ejabberd-it',
      scenarioName: 'xmpp-it',
      scenarioFile: 'test/integration/xmpp-ejabberd.test.ts',
      scenario: s,
      seed: s.seed,
      target: { name: 'xmpp', url: lab.url, protocol: 'xmpp' },
      segment: { index: 0, count: 1 },
      imloadVersion: 'test',
      command: 'node --test test/integration/xmpp-ejabberd.test.ts',
      host: { hostname: hostname(), cpus: cpus().length, memoryBytes: totalmem(), node: process.version },
      server: { kind: lab.primary.kind, version: lab.primary.version },
    },
    scenario: s,
    target,
    passwords: { target: { env: PASSWORD_ENV } },
    workers: 1,
    journalPath: join(dir, 'journal.ndjson'),
    spreadSourceAddresses: false,
    signal: new AbortController().signal,
    serverPids: lab.serverPids,
  });
}

function assertRun(result: Awaited<ReturnType<typeof run>>, rostersProvisioned: boolean) {
  const s = result.summary;
  assert.equal(result.reason, 'completed', s.end.detail);
  assert.deepEqual(s.errors.byKind, {}, 'no errors');
  assert.equal(s.users.logonOk, USERS);
  assert.equal(s.users.peakOnline, USERS, 'every user was online at once');
  assert.equal(s.latency.register.count, USERS, 'every logon timed its SASL exchange');

  assert.ok(s.messages.sent > 20, `chat messages sent: ${s.messages.sent}`);
  assert.ok(s.messages.channelSent > 10, `groupchat messages sent: ${s.messages.channelSent}`);
  assert.ok(s.messages.expected > s.messages.sent + s.messages.channelSent, 'room fan-out makes more deliveries than sends');
  assert.equal(s.messages.delivered, s.messages.expected, 'every chat and groupchat message reached every intended recipient');
  assert.equal(s.messages.lost, 0);
  assert.equal(s.messages.duplicates, 0, 'and only once (the sender\'s own room echo is no delivery)');
  assert.equal(s.messages.unexpected, 0, 'no receipt beyond the expected ones');
  assert.ok(s.latency.join.count >= USERS, 'every user joined at least one room');

  assert.ok(s.presence.changes > USERS / 3, `presence changes: ${s.presence.changes}`);
  assert.ok(s.presence.expected > s.presence.changes * 10, `watchers expected: ${s.presence.expected}`);
  assert.equal(s.presence.seen, s.presence.expected, 'every watcher saw every change');
  assert.deepEqual(s.presence.measuredBy, ['stamp'], 'ejabberd relays the note in <status>');
  // Each user learns each contact's state once that contact is online: about 20 per user.
  assert.ok(s.presence.initialStates >= USERS * 15 && s.presence.initialStates <= USERS * 20, `initial states: ${s.presence.initialStates} (rosters ${rostersProvisioned ? 'provisioned' : 'live'})`);

  assert.ok(s.crossCheck, 'ejabberd was asked for its own count');
  assert.equal(s.crossCheck.serverOnline, s.crossCheck.imloadOnline, `ejabberdctl connected_users_number says ${s.crossCheck.serverOnline}`);
  assert.equal(s.crossCheck.imloadOnline, USERS);
  assert.ok(s.bandwidth.bytesIn > 0 && s.bandwidth.bytesOut > 0);
}

test('XMPP on ejabberd over STARTTLS, accounts from the lab, subscriptions requested live: exact delivery, presence, server count', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'ejabberdctl', 'ejabberd')) return;
  const s = scenario();
  const lab = await startEjabberdLab({ users: USERS, domain: 'it.test', password: PASSWORD });
  try {
    assertRun(await run(lab, 'auto', s), false);
  } finally {
    await lab.stop();
  }
});

test("XMPP on ejabberd over plain TCP with the plan's 20-contact rosters provisioned in bulk", { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'ejabberdctl', 'ejabberd')) return;
  const s = scenario();
  const plan = new WorkloadPlan(s);
  const users = Array.from({ length: USERS }, (_, i) => {
    const identity = plan.identity(i);
    return { name: identity.name, password: PASSWORD, contacts: identity.contacts };
  });
  const server = await startEjabberd({ domain: 'it.test' });
  try {
    const provisioned = await provisionAccounts('ejabberd', server, server.domain, users);
    assert.equal(provisioned.accounts, USERS);
    // The plan's lists are one-sided mostly: who a user lists is `to` (or `both` when listed back).
    const first = await ejabberdRoster(server, users[0]!.name, server.domain);
    const listed = new Set(users[0]!.contacts.map((name) => `${name}@${server.domain}`));
    assert.deepEqual(first.filter((item) => item.subscription === 'to' || item.subscription === 'both').map((item) => item.jid).sort(), [...listed].sort());
    assert.ok(first.filter((item) => !listed.has(item.jid)).every((item) => item.subscription === 'from'));
    const lab: LabTarget = {
      primary: server.server,
      servers: [server.server],
      url: server.server.url,
      domain: server.domain,
      ca: server.caFile,
      options: { ejabberdctl: server.ctlScript, mucService: server.mucDomain },
      stop: () => server.stop(),
      serverPids: () => [server.pid],
    };
    assertRun(await run(lab, 'never', s), true);
  } finally {
    await server.stop();
  }
});
