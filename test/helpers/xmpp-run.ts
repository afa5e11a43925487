/**
 * What the XMPP integration tests share, whichever server the lab starts (Prosody, ejabberd): the
 * scenario (40 users, 20 contacts, chat, presence and MUC rooms), a run through the engine's run
 * API, and the assertions of an exact run — every message delivered once, every presence change
 * seen by every watcher, the server's own count equal to imload's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir, hostname, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../../src/engine/coordinator.js';
import { Scenario } from '../../src/scenarios/schema.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import type { LabTarget } from '../../src/lab/types.js';
import type { AgentTarget } from '../../src/protocols/types.js';

const PASSWORD_ENV = 'IMLOAD_TEST_XMPP_PASSWORD';
export const PASSWORD = 'it-xmpp-secret-7';
export const USERS = 40;

export interface XmppPacing {
  /** Logons per second in the ramp. */
  readonly rate: number;
  /** How long after the ramp the activity starts (subscriptions settle first). */
  readonly activityDelay: string;
  readonly hold: string;
}

export function xmppScenario({ rate, activityDelay, hold }: XmppPacing): Scenario {
  return Scenario.parse({
    target: 'xmpp',
    seed: 11,
    timeScale: 360,
    population: { users: USERS, contacts: 20, channels: { count: 4, perUser: { min: 1, max: 2 } } },
    phases: [
      { phase: 'rampUp', rate },
      { phase: 'hold', duration: hold },
      { phase: 'rampDown', rate: 100 },
    ],
    behaviour: {
      messagesPerHour: 4,
      channelMessagesPerHour: 3,
      presenceChangesPerHour: 3,
      activityStart: 'rampUpEnd',
      activityDelay,
    },
  });
}

/** The scenario's users with the plan's 20-contact lists, for provisioning rosters before the start. */
export function planAccounts(s: Scenario): Array<{ name: string; password: string; contacts: readonly string[] }> {
  const plan = new WorkloadPlan(s);
  return Array.from({ length: USERS }, (_, i) => {
    const identity = plan.identity(i);
    return { name: identity.name, password: PASSWORD, contacts: identity.contacts };
  });
}

export async function runXmpp(lab: LabTarget, starttls: 'auto' | 'never', s: Scenario, testFile: string) {
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
      runId: 'xmpp-it',
      scenarioName: 'xmpp-it',
      scenarioFile: testFile,
      scenario: s,
      seed: s.seed,
      target: { name: 'xmpp', url: lab.url, protocol: 'xmpp' },
      segment: { index: 0, count: 1 },
      imloadVersion: 'test',
      command: `node --test ${testFile}`,
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

export interface ExactRunExpectation {
  /** The server's name in messages ("Prosody"). */
  readonly server: string;
  /** The server's own count, as the cross-check asked for it ("prosodyctl"). */
  readonly countedBy: string;
  readonly rostersProvisioned: boolean;
}

export function assertExactRun(result: Awaited<ReturnType<typeof runXmpp>>, { server, countedBy, rostersProvisioned }: ExactRunExpectation): void {
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
  assert.equal(s.messages.duplicates, 0, "and only once (the sender's own room echo is no delivery)");
  assert.equal(s.messages.unexpected, 0, 'no receipt beyond the expected ones');
  assert.ok(s.latency.join.count >= USERS, 'every user joined at least one room');

  assert.ok(s.presence.changes > USERS / 3, `presence changes: ${s.presence.changes}`);
  assert.ok(s.presence.expected > s.presence.changes * 10, `watchers expected: ${s.presence.expected}`);
  assert.equal(s.presence.seen, s.presence.expected, 'every watcher saw every change');
  assert.deepEqual(s.presence.measuredBy, ['stamp'], `${server} relays the note in <status>`);
  // Each user learns each contact's state once that contact is online: about 20 per user.
  assert.ok(s.presence.initialStates >= USERS * 15 && s.presence.initialStates <= USERS * 20, `initial states: ${s.presence.initialStates} (rosters ${rostersProvisioned ? 'provisioned' : 'live'})`);

  assert.ok(s.crossCheck, `${server} was asked for its own count`);
  assert.equal(s.crossCheck.serverOnline, s.crossCheck.imloadOnline, `${countedBy} says ${s.crossCheck.serverOnline}`);
  assert.equal(s.crossCheck.imloadOnline, USERS);
  assert.ok(s.bandwidth.bytesIn > 0 && s.bandwidth.bytesOut > 0);
}
