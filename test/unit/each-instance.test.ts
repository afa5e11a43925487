/**
 * Each-instance channels (#19 item 1): one virtual user made of one agent user per server of a
 * network whose servers are not linked. Agents here are scripted fakes (the integration test,
 * irc-each-instance.test.ts, runs real unlinked InspIRCd servers): every post goes to each
 * instance with one stamp, receivers keep a message's first copy, the other instances' copies
 * are duplicates by design, and the extra traffic is counted. The schema refuses the mode where
 * it cannot work, at the field's line and column.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EachInstanceUser, InstanceCopies, eachInstanceOf } from '../../src/engine/each-instance.js';
import { MetricsRecorder } from '../../src/metrics/recorder.js';
import { AgentError, type ChannelAssignment, type ProtocolAgent, type SendOutcome, type VirtualUser, type VuEvents, type VuIdentity } from '../../src/protocols/types.js';
import { formatStamp, TO_CHANNEL } from '../../src/engine/stamp.js';
import { parseScenarioText, ScenarioError } from '../../src/scenarios/load.js';
import { toAgentTarget } from '../../src/scenarios/target.js';
import { eachInstanceSummary } from '../../src/analysis/each-instance.js';
import { describeEachInstance } from '../../src/report/each-instance.js';
import type { CounterTotals } from '../../src/metrics/aggregate.js';
import { COUNTERS } from '../../src/metrics/names.js';
import { EXIT } from '../../src/exit-codes.js';

test('InstanceCopies: a message’s first copy, a copy from another instance, the same instance again', () => {
  const copies = new InstanceCopies(3, 4);
  assert.equal(copies.arrived(7, 1, 0), 'first');
  assert.equal(copies.arrived(7, 1, 2), 'copy');
  assert.equal(copies.arrived(7, 1, 1), 'copy');
  assert.equal(copies.arrived(7, 1, 2), 'again', 'a second copy from one instance is that server’s duplicate');
  assert.equal(copies.arrived(8, 1, 2), 'first', 'another sender’s message with the same seq is its own');
  // The ring reaches back `size` messages: beyond it a late copy is taken for a first one.
  for (let seq = 2; seq <= 5; seq++) copies.arrived(7, seq, 0);
  assert.equal(copies.arrived(7, 1, 1), 'first');
});

/** A fake agent user per server: records what it was asked, answers as scripted. */
class FakeUser implements VirtualUser {
  readonly said: string[] = [];
  readonly messaged: string[] = [];
  loggedOn = false;
  joined: string[] = [];
  destroyed = false;
  constructor(
    readonly server: number,
    readonly events: VuEvents,
    private readonly answer: () => Promise<SendOutcome>,
  ) {}
  async logon() {
    this.loggedOn = true;
  }
  async join(channel: ChannelAssignment) {
    this.joined.push(channel.name);
  }
  say(_channel: ChannelAssignment, text: string) {
    this.said.push(text);
    return this.answer();
  }
  async message(to: string, text: string): Promise<SendOutcome> {
    this.messaged.push(`${to} ${text}`);
    return { ok: true };
  }
  async setPresence() {}
  async part() {}
  async logoff() {}
  destroy() {
    this.destroyed = true;
  }
}

const CHANNEL: ChannelAssignment = { name: '#room-1', role: 'member', auditorium: false, presenters: [] };
const IDENTITY: VuIdentity = { index: 4, name: 'u000005', contacts: [], channels: [CHANNEL] };

function composite(answers: ReadonlyArray<() => Promise<SendOutcome>>, home = 1) {
  const metrics = new MetricsRecorder(0);
  const users: FakeUser[] = [];
  const received: string[] = [];
  const errors: string[] = [];
  const events: VuEvents = {
    bytes: (i, o) => {
      metrics.add('bytesIn', i);
      metrics.add('bytesOut', o);
    },
    message: (_from, text) => received.push(text),
    presence: () => undefined,
    metric: () => undefined,
    error: (kind, detail) => errors.push(`${kind}: ${detail}`),
    disconnected: () => undefined,
    note: () => undefined,
  };
  const agent: ProtocolAgent = {
    capabilities: { channels: true, presence: false, instantMessages: true, eachInstance: true },
    createUser: (_identity, userEvents, server) => {
      const user = new FakeUser(server!, userEvents, answers[server!]!);
      users.push(user);
      return user;
    },
    close: async () => undefined,
  };
  const user = new EachInstanceUser(agent, IDENTITY, events, metrics, { servers: answers.length, homeOf: () => home });
  const counters = () => metrics.snapshot().counters;
  return { user, users, received, errors, counters };
}

const accepted = (recipients: number) => () => Promise.resolve<SendOutcome>({ ok: true, recipients });

test('a user logs on and joins on every server, posts each channel message once per instance, IMs through its own server', async () => {
  const { user, users, counters } = composite([accepted(3), accepted(5), accepted(4)]);
  assert.deepEqual(users.map((u) => u.server), [0, 1, 2], 'one agent user per server');
  await user.logon();
  await user.join(CHANNEL);
  assert.ok(users.every((u) => u.loggedOn && u.joined[0] === '#room-1'));
  const text = `${formatStamp(4, 1, 1000, TO_CHANNEL)} hello`;
  const outcome = await user.say(CHANNEL, text, 'all');
  assert.deepEqual(users.map((u) => u.said), [[text], [text], [text]], 'the same stamped text to each instance');
  assert.deepEqual(outcome, { ok: true, recipients: 5 }, 'the most recipients any instance counted: each recipient is on every instance');
  assert.equal(counters().instancePosts, 2, 'two posts beyond the first');
  await user.message('u000002', 'hi');
  assert.deepEqual(users.map((u) => u.messaged.length), [0, 1, 0], 'an IM goes through the user’s own server only');
  user.destroy();
  assert.ok(users.every((u) => u.destroyed));
});

test('receivers keep a message’s first copy; other instances’ copies are duplicates by design; one instance sending twice is passed on', () => {
  const { users, received, counters } = composite([accepted(1), accepted(1)], 0);
  const text = `${formatStamp(9, 3, 1000, TO_CHANNEL)} hello`;
  users[1]!.events.message('u000010', text, 1001, '#room-1');
  users[0]!.events.message('u000010', text, 1002, '#room-1');
  assert.deepEqual(received, [text], 'the first copy (from server 2) is the delivery');
  assert.equal(counters().instanceCopies, 1);
  users[0]!.events.message('u000010', text, 1003, '#room-1');
  assert.equal(received.length, 2, 'server 1 sent it again: the inbox counts that as the server’s duplicate');
  const im = `${formatStamp(9, 4, 1000, 4)} psst`;
  users[1]!.events.message('u000010', im, 1004);
  assert.equal(received.at(-1), im, 'instant messages pass through');
  users[1]!.events.bytes(100, 40);
  users[0]!.events.bytes(7, 3);
  const c = counters();
  assert.deepEqual([c.instanceBytesIn, c.instanceBytesOut, c.bytesIn, c.bytesOut], [100, 40, 107, 43], 'bytes off the user’s own server are extra; all are counted');
});

test('a post one instance refuses is an error of its own; the message fails only when every instance refused it', async () => {
  const refused = () => Promise.resolve<SendOutcome>({ ok: false, reason: 'rejected', detail: '404 cannot send' });
  const threw = () => Promise.reject(new AgentError('unexpected-close', 'gone', '127.0.0.1:1'));
  const some = composite([accepted(2), refused, threw], 0);
  assert.deepEqual(await some.user.say(CHANNEL, 'x', 'all'), { ok: true, recipients: 2 });
  assert.deepEqual(some.errors, ['send-rejected: 404 cannot send', 'unexpected-close: gone']);
  // The user's own server (1) refused, another accepted: the message went out; the refusal is an error.
  const home = composite([accepted(3), refused], 1);
  assert.deepEqual(await home.user.say(CHANNEL, 'x', 'all'), { ok: true, recipients: 3 });
  assert.deepEqual(home.errors, ['send-rejected: 404 cannot send']);
  // Every instance refused: the message's outcome is its own server's; the others are errors.
  const none = composite([threw, refused], 1);
  assert.deepEqual(await none.user.say(CHANNEL, 'x', 'all'), { ok: false, reason: 'rejected', detail: '404 cannot send' });
  assert.deepEqual(none.errors, ['unexpected-close: gone']);
  const thrown = composite([refused, threw], 1);
  await assert.rejects(thrown.user.say(CHANNEL, 'x', 'all'), /gone/);
});

test('a logon fails as the first server fails it', async () => {
  const { user, users } = composite([accepted(1), accepted(1)]);
  users[1]!.logon = () => Promise.reject(new AgentError('auth-failed', '464 s2', '127.0.0.1:2'));
  await assert.rejects(user.logon(), (e: AgentError) => e.kind === 'auth-failed');
});

function scenario(target: string): string {
  return `version: 1
targets:
  net:
${target}
scenarios:
  it:
    target: net
    population: { users: 10, channels: { count: 2 } }
    phases:
      - { phase: rampUp, rate: 5 }
`;
}

function problem(text: string): string {
  try {
    parseScenarioText(text, 'it.yaml');
  } catch (error) {
    assert.ok(error instanceof ScenarioError, String(error));
    return error.message;
  }
  assert.fail('accepted');
}

/** `it.yaml:line:column` of the first occurrence of `needle`. */
function at(text: string, needle: string): string {
  const before = text.slice(0, text.indexOf(needle)).split('\n');
  return `it.yaml:${before.length}:${before.at(-1)!.length + 1}`;
}

test('schema: each-instance on an unlinked lab or two listed servers; its layout reaches the agent target', () => {
  const lab = parseScenarioText(scenario('    url: irc://127.0.0.1:6667\n    lab: inspircd-unlinked\n    network: { servers: 2, channels: each-instance }\n'));
  assert.equal(lab.targets.net!.network?.channels, 'each-instance');
  const listed = parseScenarioText(scenario('    url: irc://127.0.0.1:7001\n    network: { urls: [irc://127.0.0.1:7001, irc://127.0.0.1:7002], channels: each-instance, spread: hash }\n'));
  const target = toAgentTarget('net', listed.targets.net!, 10);
  assert.equal(target.network?.channels, 'each-instance');
  const layout = eachInstanceOf(target.network);
  assert.equal(layout?.servers, 2);
  assert.ok([0, 1].includes(layout!.homeOf(3)));
  assert.equal(eachInstanceOf(toAgentTarget('net', parseScenarioText(scenario('    url: irc://127.0.0.1:7001\n    network: { urls: [irc://127.0.0.1:7001, irc://127.0.0.1:7002] }\n')).targets.net!, 10).network), undefined, 'linked by default');
});

test('schema: each-instance is refused where it cannot work, at network.channels', () => {
  const rvp = scenario('    url: rvp://127.0.0.1:8080\n    network: { urls: [rvp://127.0.0.1:8080, rvp://127.0.0.1:8081], channels: each-instance }\n');
  assert.match(problem(rvp), new RegExp(`^${at(rvp, 'each-instance')}: targets\\.net\\.network\\.channels: rvp targets cannot post to each instance of a channel: .*\\(protocols that can: irc\\)`));
  const linked = scenario('    url: irc://127.0.0.1:6667\n    lab: inspircd-network\n    network: { servers: 3, channels: each-instance }\n');
  assert.match(problem(linked), new RegExp(`^${at(linked, 'each-instance')}: .*lab server inspircd-network links its servers: each-instance is for servers that are not linked \\(irc lab servers that are not: inspircd-unlinked\\)`));
  const one = scenario('    url: irc://127.0.0.1:6667\n    network: { urls: [irc://127.0.0.1:6667], channels: each-instance }\n');
  assert.match(problem(one), /each-instance needs two or more servers: list them in network\.urls/);
  const single = scenario('    url: irc://127.0.0.1:6667\n    lab: inspircd\n    network: { channels: each-instance }\n');
  assert.match(problem(single), /lab server inspircd starts one server/);
  const unlinked = scenario('    url: irc://127.0.0.1:6667\n    lab: inspircd-unlinked\n    network: { servers: 2 }\n');
  assert.match(problem(unlinked), new RegExp(`^${at(unlinked, 'inspircd-unlinked')}: targets\\.net\\.lab: lab server inspircd-unlinked starts servers that are not linked: channels do not span them; set network: \\{ channels: each-instance \\}`));
});

test('imload validate, run as a person runs it, names the refused mode at file:line:column and exits 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-each-'));
  const file = join(dir, 'sip.yaml');
  const text = scenario('    url: sip://127.0.0.1:5060\n    network: { urls: [sip://127.0.0.1:5060, sip://127.0.0.1:5062], channels: each-instance }\n');
  writeFileSync(file, text);
  const run = spawnSync(process.execPath, ['bin/imload.js', 'validate', file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, EXIT.badInput, run.stderr);
  const where = at(text, 'each-instance').replace('it.yaml', file);
  assert.ok(run.stderr.startsWith(`${where}: targets.net.network.channels: sip targets cannot post to each instance of a channel`), run.stderr);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});

test('the summary’s cost figures and the report’s wording', () => {
  const totals = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as CounterTotals;
  Object.assign(totals, { bytesIn: 3000, bytesOut: 1000, instanceBytesIn: 1500, instanceBytesOut: 500, instancePosts: 10, instanceCopies: 38 });
  assert.equal(eachInstanceSummary(totals, undefined), null, 'no figures for a run without the mode');
  const e = eachInstanceSummary(totals, 2)!;
  assert.deepEqual([e.extraMessages, e.extraBytes, e.extraBytesRatio, e.connectionsPerUser], [48, 2000, 1, 2]);
  assert.equal(
    describeEachInstance(e),
    '2 servers not linked, 2 connections per user: +48 messages (10 extra posts, 38 extra copies received, duplicates by design), +2 KiB (1.5 KiB in, 0.5 KiB out), 100 % more bytes than one linked instance',
  );
});
