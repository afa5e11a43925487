/**
 * The `kamailio-pool` lab (src/protocols/sip/pool-lab.ts): 30 users register through the director,
 * the dispatcher spreads them over two front ends, MESSAGEs cross front ends and are delivered
 * exactly once, presence (one presence server behind the pool) reaches watchers on either front
 * end, and every front end's own registered count equals the users imload has online; the same
 * over TCP and over TLS to the director. A front end killed: MESSAGEs and logons (REGISTER, PUBLISH, SUBSCRIBE)
 * go through the other one, each re-sent request counted once. A front end named in the
 * scenario's `faults:` killed mid-run: the report names which, and the users whose transactions
 * the dispatcher retried on the other front end (by method) or that failed, the outage and the
 * recovery. The presence server killed: PUBLISHes time out, and MESSAGEs go on through front ends
 * the dispatcher keeps in its set.
 */
import { after, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { sipProtocol } from '../../src/protocols/sip/index.js';
import type { VirtualUser, VuEvents } from '../../src/protocols/types.js';
import { startKamailioPool, type KamailioPoolLab } from '../../src/protocols/sip/pool-lab.js';
import { requireBinary } from '../helpers/require.js';
import { until } from '../helpers/until.js';
import { writeScenario } from '../helpers/scenario.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { runCommand } from '../../src/commands/run.js';
import type { Summary } from '../../src/analysis/summary.js';
import { FAULT_SAMPLE } from '../../src/analysis/fault-impact.js';
import { formatSummaryText } from '../../src/report/text.js';
import { delayedText, outageHeadline, recoveryText, transactionsText } from '../../src/report/fault-text.js';

const PASSWORD = 'pool-secret';
const USERS = 30;
const CONTACTS = 5;

let starting: Promise<KamailioPoolLab> | undefined;
after(async () => {
  if (starting !== undefined) await (await starting).stop();
});

const name = (i: number): string => `p${String(i).padStart(3, '0')}`;

function registered(ctl: string): number {
  const out = execFileSync('kamcmd', ['-s', ctl, 'stats.get_statistics', 'registered_users'], { encoding: 'utf8', timeout: 5000 });
  return Number(/registered_users\s*=\s*(\d+)/.exec(out)![1]);
}

test('director + 2 front ends: IM and presence across front ends, the pool counts what imload counts', async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const pool = await (starting = startKamailioPool({ password: PASSWORD }));
  assert.equal(pool.frontEnds.length, 2);
  const agent = await sipProtocol.createAgent({
    name: 'pool',
    protocol: 'sip',
    host: pool.director.host,
    port: pool.director.port,
    transport: 'udp',
    domain: pool.domain,
    options: { poolCtl: pool.frontEnds.map((fe) => fe.ctl) },
  });
  const received = new Map<string, number>();
  const notes = new Map<string, Map<string, string>>();
  const errors: string[] = [];
  const counters = new Map<string, number>();
  const events = (user: string): VuEvents => {
    const seen = new Map<string, string>();
    notes.set(user, seen);
    return {
      bytes: () => undefined,
      message: (from, text, _receivedAt, _channel, alsoAs) => {
        received.set(`${from}>${user}:${text}`, (received.get(`${from}>${user}:${text}`) ?? 0) + 1);
        // The same/cross-front-end split the agent names for the engine to time.
        if (alsoAs !== undefined) counters.set(alsoAs, (counters.get(alsoAs) ?? 0) + 1);
      },
      presence: (contact, _state, note) => void seen.set(contact, note),
      error: (kind, detail) => void errors.push(`${user} ${kind} ${detail ?? ''}`),
      disconnected: (reason) => void errors.push(`${user} disconnected ${reason}`),
      note: () => undefined,
      // Samples per metric (retransmissions...).
      metric: (metric) => void counters.set(metric, (counters.get(metric) ?? 0) + 1),
    };
  };
  const indexes = Array.from({ length: USERS }, (_, i) => i);
  const contactsOf = (i: number): string[] => Array.from({ length: CONTACTS }, (_, k) => name((i + k + 1) % USERS));
  const users: VirtualUser[] = indexes.map((i) =>
    agent.createUser({ index: i, name: name(i), password: PASSWORD, contacts: contactsOf(i), channels: [] }, events(name(i))),
  );
  try {
    await Promise.all(users.map((user) => user.logon()));
    // The dispatcher spread the users: each front end saved some bindings (it names itself in the 200).
    const frontEndOf = users.map((user) => (user as unknown as { frontEnd?: string }).frontEnd);
    const spread = new Map<string, number>();
    for (const fe of frontEndOf) spread.set(String(fe), (spread.get(String(fe)) ?? 0) + 1);
    t.diagnostic(`users per front end: ${JSON.stringify(Object.fromEntries(spread))}`);
    assert.deepEqual([...spread.keys()].sort(), ['fe1', 'fe2'], 'users on both front ends');
    // The pool's own count, on every front end (dmq_usrloc shares the location table).
    for (const fe of pool.frontEnds) await until(() => registered(fe.ctl) === USERS, `${fe.name} registered_users = ${USERS}`, 10_000, 200);
    assert.equal(await agent.serverOnlineCount!(), USERS);

    // Every user messages its next three contacts: about half of the pairs cross front ends.
    const sends = indexes.flatMap((i) => [1, 2, 3].map((d): [number, number] => [i, (i + d) % USERS]));
    const crossing = sends.filter(([a, b]) => frontEndOf[a] !== frontEndOf[b]).length;
    assert.ok(crossing > 0, 'some IMs cross front ends');
    for (const [from, to] of sends) {
      // The engine's correlation stamp (the engine times the split delivery from it).
      assert.deepEqual(await users[from]!.message(name(to), `[imload ${from} ${to} ${Date.now()} ${to}] hi`), { ok: true, recipients: 1 });
    }
    await until(() => received.size === sends.length, `${sends.length} MESSAGEs delivered`, 10_000);
    for (const [key, times] of received) assert.equal(times, 1, `delivered exactly once: ${key}`);
    // A MESSAGE is relayed by the sender's front end: it crosses when the recipient's differs.
    assert.equal(counters.get('deliveryCrossFrontEnd') ?? 0, crossing, 'cross-front-end delivery latencies recorded apart');
    assert.equal(counters.get('deliverySameFrontEnd') ?? 0, sends.length - crossing);

    // Presence: every user publishes a note; each watcher (on either front end) sees it.
    await Promise.all(users.map((user, i) => user.setPresence('away', `note-${name(i)}`)));
    await until(
      () => indexes.every((i) => contactsOf(i).every((contact) => notes.get(name(i))!.get(contact) === `note-${contact}`)),
      'every watcher sees every note', 10_000,
    );

    await Promise.all(users.map((user) => user.logoff()));
    for (const fe of pool.frontEnds) await until(() => registered(fe.ctl) === 0, `${fe.name} registered_users = 0`, 10_000, 200);
    assert.deepEqual(errors, []);
  } finally {
    for (const user of users) user.destroy();
    await agent.close();
  }
});

test('over TCP to the director: users log on, IM across front ends and see presence; the pool counts them', async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const pool = await (starting ??= startKamailioPool({ password: PASSWORD }));
  // Before the kill test: both front ends are up and in the dispatcher's set.
  const agent = await sipProtocol.createAgent({
    name: 'pool-tcp', protocol: 'sip', host: pool.director.host, port: pool.director.port, transport: 'tcp', domain: pool.domain,
    options: { poolCtl: pool.frontEnds.map((fe) => fe.ctl) },
  });
  const received = new Map<string, number>();
  const notes = new Map<string, string>();
  const errors: string[] = [];
  const count = 10;
  const events = (user: string): VuEvents => ({
    bytes: () => undefined,
    message: (from, text) => void received.set(`${from}>${user}:${text}`, (received.get(`${from}>${user}:${text}`) ?? 0) + 1),
    presence: (contact, _state, note) => void notes.set(`${user}<${contact}`, note),
    error: (kind, detail) => void errors.push(`${user} ${kind} ${detail ?? ''}`),
    disconnected: (reason) => void errors.push(`${user} disconnected ${reason}`),
    note: () => undefined,
    metric: () => undefined,
  });
  const watched = (i: number) => `t${(i + 1) % count}`;
  const users = Array.from({ length: count }, (_, i) =>
    agent.createUser({ index: i, name: `t${i}`, password: PASSWORD, contacts: [watched(i)], channels: [] }, events(`t${i}`)),
  );
  try {
    await Promise.all(users.map((user) => user.logon()));
    const frontEndOf = users.map((user) => (user as unknown as { frontEnd?: string }).frontEnd);
    assert.deepEqual([...new Set(frontEndOf)].sort(), ['fe1', 'fe2'], 'TCP users on both front ends');
    assert.equal(await agent.serverOnlineCount!(), count, 'the pool counts the TCP users (with any others still bound: none)');
    // Every user messages the next: the director relays each over the recipient's own connection.
    const outcomes = await Promise.all(users.map((user, i) => user.message(`t${(i + 1) % count}`, `tcp t${i}`)));
    for (const outcome of outcomes) assert.deepEqual(outcome, { ok: true, recipients: 1 });
    await until(() => received.size === count, `${count} MESSAGEs over TCP`, 10_000);
    for (const [key, times] of received) assert.equal(times, 1, `exactly once: ${key}`);
    await Promise.all(users.map((user, i) => user.setPresence('busy', `tcp-note-t${i}`)));
    await until(() => users.every((_, i) => notes.get(`t${i}<${watched(i)}`) === `tcp-note-${watched(i)}`), 'every TCP watcher sees its contact\'s note (NOTIFY over its connection)', 10_000);
    await Promise.all(users.map((user) => user.logoff()));
    await until(() => registered(pool.frontEnds[0]!.ctl) === 0, 'the TCP users unregistered', 10_000, 200);
    assert.deepEqual(errors, []);
  } finally {
    for (const user of users) user.destroy();
    await agent.close();
  }
});

test('a front end killed mid-run: its users IM on through the other (dispatcher failover), and it resynchronises on restart', async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const pool = await (starting ??= startKamailioPool({ password: PASSWORD }));
  const agent = await sipProtocol.createAgent({
    name: 'pool', protocol: 'sip', host: pool.director.host, port: pool.director.port, transport: 'udp', domain: pool.domain,
    options: { poolCtl: pool.frontEnds.map((fe) => fe.ctl) },
  });
  const received = new Map<string, number>();
  const errors: string[] = [];
  let failovers = 0;
  const retried = new Map<string, number>();
  const events = (user: string): VuEvents => ({
    bytes: () => undefined,
    message: (from, text) => void received.set(`${from}>${user}:${text}`, (received.get(`${from}>${user}:${text}`) ?? 0) + 1),
    presence: () => undefined,
    error: (kind, detail) => void errors.push(`${user} ${kind} ${detail ?? ''}`),
    disconnected: (reason) => void errors.push(`${user} disconnected ${reason}`),
    note: () => undefined,
    metric: (metric, value) => {
      if (metric === 'poolFailoverMessage') failovers += value;
      else if (metric.startsWith('poolFailover')) retried.set(metric, (retried.get(metric) ?? 0) + value);
    },
  });
  const count = 20;
  const users = Array.from({ length: count }, (_, i) =>
    agent.createUser({ index: i, name: `k${i}`, password: PASSWORD, contacts: [], channels: [] }, events(`k${i}`)),
  );
  try {
    await Promise.all(users.map((user) => user.logon()));
    const frontEndOf = users.map((user) => (user as unknown as { frontEnd?: string }).frontEnd);
    const onFe1 = frontEndOf.flatMap((fe, i) => (fe === 'fe1' ? [i] : []));
    const onFe2 = frontEndOf.flatMap((fe, i) => (fe === 'fe2' ? [i] : []));
    assert.ok(onFe1.length > 0 && onFe2.length > 0, 'users on both front ends');
    await until(() => registered(pool.frontEnds[1]!.ctl) === count, `fe2 holds all ${count} bindings`, 10_000, 200);

    await pool.frontEnds[0]!.kill();
    assert.equal(pool.frontEnds[0]!.running(), false);
    // Right after the crash, before the dispatcher's probe notices: fe1's users message fe2's and back.
    const sends = onFe1.map((a, k): [number, number] => [a, onFe2[k % onFe2.length]!]).flatMap(([a, b]): Array<[number, number]> => [[a, b], [b, a]]);
    // And new users log on at once (REGISTER, PUBLISH, SUBSCRIBE to an online user): those the
    // dispatcher's hash sends to fe1 are re-sent to fe2, and each retry is counted once.
    const late = Array.from({ length: 8 }, (_, i) =>
      agent.createUser({ index: count + i, name: `k${count + i}`, password: PASSWORD, contacts: ['k0'], channels: [] }, events(`k${count + i}`)),
    );
    users.push(...late);
    const [outcomes] = await Promise.all([
      Promise.all(sends.map(([from, to]) => users[from]!.message(`k${to}`, `after-kill k${from}->k${to}`))),
      Promise.all(late.map((user) => user.logon())),
    ]);
    for (const outcome of outcomes) assert.deepEqual(outcome, { ok: true, recipients: 1 }, 'delivered through fe2');
    await until(() => received.size === sends.length, `${sends.length} MESSAGEs`, 10_000);
    for (const [key, times] of received) assert.equal(times, 1, `exactly once: ${key}`);
    assert.ok(failovers >= 1, `the dispatcher retried on fe2 (${failovers} failovers)`);
    t.diagnostic(`${sends.length} MESSAGEs after the kill, ${failovers} re-sent by the dispatcher to fe2; logons: ${JSON.stringify(Object.fromEntries(retried))}`);
    assert.ok((retried.get('poolFailoverRegister') ?? 0) >= 1, 'a REGISTER re-sent to fe2 is counted');
    // No more retries than transactions: one REGISTER, one PUBLISH, one SUBSCRIBE per late user.
    for (const method of ['Register', 'Publish', 'Subscribe']) assert.ok((retried.get(`poolFailover${method}`) ?? 0) <= late.length, method);
    for (const user of late) assert.equal((user as unknown as { frontEnd?: string }).frontEnd, 'fe2', 'the late users are bound on fe2');
    // The pool's count while fe1 is down: fe2's, which imload's count reads (fe1 does not answer).
    assert.equal(await agent.serverOnlineCount!(), count + late.length);

    // Recovery: fe1 restarts empty and DMQ gives it the pool's location table again.
    await pool.frontEnds[0]!.restart();
    await until(() => registered(pool.frontEnds[0]!.ctl) === users.length, `restarted fe1 resynchronised to ${users.length}`, 10_000, 200);

    await Promise.all(users.map((user) => user.logoff()));
    assert.deepEqual(errors, []);
  } finally {
    for (const user of users) user.destroy();
    await agent.close();
  }
});

/** The dispatcher's set: each front end's address and its flags (A active, I inactive; P probing, X not). */
function dispatcherSet(ctl: string): string[] {
  const out = execFileSync('kamcmd', ['-s', ctl, 'dispatcher.list'], { encoding: 'utf8', timeout: 5000 });
  return [...out.matchAll(/URI: (\S+)\s+FLAGS: (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
}

test('the presence server killed: PUBLISHes time out, MESSAGEs go on, no front end is taken out of the set', async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const pool = await (starting ??= startKamailioPool({ password: PASSWORD }));
  const agent = await sipProtocol.createAgent({
    name: 'pool', protocol: 'sip', host: pool.director.host, port: pool.director.port, transport: 'udp', domain: pool.domain,
    options: { poolCtl: pool.frontEnds.map((fe) => fe.ctl) },
  });
  const errors: string[] = [];
  const events = (user: string): VuEvents => ({
    bytes: () => undefined,
    message: () => undefined,
    presence: () => undefined,
    error: (kind, detail) => void errors.push(`${user} ${kind} ${detail ?? ''}`),
    disconnected: (reason) => void errors.push(`${user} disconnected ${reason}`),
    note: () => undefined,
    metric: () => undefined,
  });
  const count = 20;
  const users = Array.from({ length: count }, (_, i) =>
    agent.createUser({ index: i, name: `q${i}`, password: PASSWORD, contacts: [], channels: [] }, events(`q${i}`)),
  );
  try {
    await Promise.all(users.map((user) => user.logon()));
    await pool.presence.kill();
    // Every user publishes at once; the presence server's silence outlasts the dispatcher's
    // timer. MESSAGEs never reach the presence server, so they must go on meanwhile: while the
    // dispatcher read a front end's 408 (the back end's silence) as the front end's own failure,
    // it took both front ends out of its set and MESSAGEs were refused (500).
    let settled = false;
    const publishes = Promise.allSettled(users.map((user) => user.setPresence('busy', 'presence down'))).finally(() => (settled = true));
    const outcomes = [];
    for (let round = 0; !settled; round++) {
      outcomes.push(...(await Promise.all(users.map((user, i) => user.message(`q${(i + 1) % count}`, `round ${round}`)))));
      await new Promise((resolve) => setTimeout(resolve, 200)); // pacing: a round every 200 ms, not a wait for anything
    }
    const published = await publishes;
    assert.ok(published.every((p) => p.status === 'rejected' && /408/.test(String(p.reason))), 'every PUBLISH timed out (408)');
    assert.ok(outcomes.length >= count * 10, `MESSAGEs were sent through the whole outage (${outcomes.length})`);
    const refused = outcomes.filter((outcome) => !outcome.ok);
    assert.deepEqual(refused, [], 'every MESSAGE accepted while the presence server was down');
    for (const entry of dispatcherSet(pool.dispatcher.ctl)) assert.match(entry, / A/, `front end still active: ${entry}`);

    await pool.presence.restart();
    await Promise.all(users.map((user) => user.logoff()));
    assert.deepEqual(errors, []);
  } finally {
    for (const user of users) user.destroy();
    await agent.close();
  }
});

/** A scenario file against the lab pool (Digest on, 5 contacts each), run by `imload run --lab`. */
function poolScenario(o: { seed: number; users: number; hold: string; messagesPerHour: number; presenceChangesPerHour: number; faults?: string; tls?: boolean }): string {
  return `version: 1
targets:
  pool:
    url: ${o.tls ? 'sips://127.0.0.1:5061' : 'sip://127.0.0.1:5060\n    transport: udp'}
    domain: pool.test
    lab: kamailio-pool
    password: { env: IMLOAD_TEST_POOL_PASSWORD }
scenarios:
  it:
    target: pool
    seed: ${o.seed}
    timeScale: 360
    population: { users: ${o.users}, contacts: 5 }
    phases:
      - { phase: rampUp, rate: ${o.users} }
      - { phase: hold, duration: ${o.hold} }
      - { phase: rampDown, rate: 100 }
    behaviour:
      messagesPerHour: ${o.messagesPerHour}
      presenceChangesPerHour: ${o.presenceChangesPerHour}
      activityStart: rampUpEnd
      activityDelay: 1s
${o.faults ? `    faults:\n      ${o.faults}\n` : ''}`;
}

test('through the engine (`imload run --lab`, lab: kamailio-pool): cross-front-end latency apart, the pool count = imload’s', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  process.env.IMLOAD_TEST_POOL_PASSWORD = 'pool-engine-secret';
  const { file, dir } = writeScenario(poolScenario({ seed: 3, users: 40, hold: '10s', messagesPerHour: 6, presenceChangesPerHour: 2 }));
  const { result } = await runCommand({ file, scenario: 'it', lab: true, quiet: true, out: join(dir, 'run'), signal: new AbortController().signal });
  const s = result.summary;
  assert.equal(result.reason, 'completed', s.end.detail);
  assert.equal(s.users.logonOk, 40);
  assert.deepEqual(s.errors.byKind, {});
  assert.ok(s.messages.sent > 10, `MESSAGEs sent: ${s.messages.sent}`);
  assert.equal(s.messages.delivered, s.messages.expected);
  assert.equal(s.messages.duplicates, 0);
  const latency = s.latency as Record<string, { count: number } | undefined>;
  const cross = latency.deliveryCrossFrontEnd?.count ?? 0;
  const same = latency.deliverySameFrontEnd?.count ?? 0;
  t.diagnostic(`deliveries: ${same} within a front end, ${cross} across`);
  assert.equal(cross + same, s.messages.delivered, 'every delivery is timed as same- or cross-front-end');
  assert.ok(cross > 0, 'some deliveries crossed front ends');
  assert.equal(s.presence.seen, s.presence.expected, 'presence across front ends');
  assert.ok(s.crossCheck, 'the pool was asked for its own count');
  assert.equal(s.crossCheck.serverOnline, s.crossCheck.imloadOnline);
  assert.equal(s.crossCheck.imloadOnline, 40);
});

test('over TLS to the director (`imload run --lab`, the lab\'s CA verified): users log on, IM across front ends and see presence; the pool counts them', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  process.env.IMLOAD_TEST_POOL_PASSWORD = 'pool-tls-secret';
  const { file, dir } = writeScenario(poolScenario({ seed: 5, users: 30, hold: '10s', messagesPerHour: 6, presenceChangesPerHour: 2, tls: true }));
  const { result } = await runCommand({ file, scenario: 'it', lab: true, quiet: true, out: join(dir, 'run'), signal: new AbortController().signal });
  const s = result.summary;
  assert.equal(result.reason, 'completed', s.end.detail);
  assert.match(s.target.url, /^sips:\/\/127\.0\.0\.1:\d+$/, 'the lab gave the director\'s TLS listener');
  assert.equal(s.users.logonOk, 30);
  assert.deepEqual(s.errors.byKind, {});
  assert.ok(s.messages.sent > 5, `MESSAGEs sent: ${s.messages.sent}`);
  assert.equal(s.messages.delivered, s.messages.expected, 'each MESSAGE relayed over its recipient\'s own TLS connection');
  const latency = s.latency as Record<string, { count: number } | undefined>;
  assert.ok((latency.deliveryCrossFrontEnd?.count ?? 0) > 0, 'some deliveries crossed front ends');
  assert.equal(s.presence.seen, s.presence.expected, 'NOTIFYs over the watchers\' TLS connections');
  assert.equal(s.crossCheck?.serverOnline, 30, 'the pool counts the TLS users');
});

test('`faults:` kill a front end mid-run: summary.json, the text report and the page name the users retried elsewhere, the outage and the recovery', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio') || !requireBinary(t, 'chromium', 'chromium')) return;
  process.env.IMLOAD_TEST_POOL_PASSWORD = 'pool-fault-secret';
  // Sends stop 3 s (the drain) before the hold ends: the retried users send on for ~4 s.
  const { file, dir } = writeScenario(
    poolScenario({ seed: 5, users: 30, hold: '14s', messagesPerHour: 12, presenceChangesPerHour: 6, faults: '- { at: 3s, kill: pool, server: fe2, restartAfter: 3s }' }),
  );
  const runDir = join(dir, 'run');
  const { result } = await runCommand({ file, scenario: 'it', lab: true, quiet: true, out: runDir, signal: new AbortController().signal });
  const s = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as Summary;
  assert.equal(result.reason, 'completed', s.end.detail);
  // The front end the scenario named, and the journal says which.
  assert.deepEqual(s.faults.events.map((e) => [e.action, e.target, e.ok]), [['kill', 'pool/fe2', true], ['restart', 'pool/fe2', true]]);
  const outage = s.faults.outages[0]!;
  const impact = outage.transactions!;
  assert.ok(impact, 'the events file named the users');
  t.diagnostic(`failed ${transactionsText(impact.failed, outage.downAt)}; retried ${transactionsText(impact.retried, outage.downAt)}; ${recoveryText(outage)}`);
  // Every failover the senders counted, whatever the method, is a named user's retried transaction, after the kill.
  const failovers = Object.fromEntries(Object.entries(s.counters).filter(([name, n]) => name.startsWith('poolFailover') && n! > 0));
  assert.ok(failovers.poolFailoverMessage! > 0, 'the dispatcher retried some MESSAGEs on the other front end');
  assert.ok(failovers.poolFailoverPublish! > 0, 'and some PUBLISHes (presence changes)');
  assert.deepEqual(impact.retried.byKind, failovers);
  assert.equal(impact.retried.transactions, Object.values(failovers).reduce((a, b) => a + b!, 0));
  assert.ok(impact.retried.firstAt! >= outage.downAt, 'retried after the kill');
  assert.equal(impact.retried.sample.length, Math.min(impact.retried.users, FAULT_SAMPLE));
  // Nothing failed: what fe2 swallowed was re-sent to fe1, and what the restarted fe2 did not yet
  // know (DMQ still syncing its table) was asked of fe1 too — refused 404 before that was done.
  assert.deepEqual(impact.failed, { users: 0, transactions: 0, byKind: {}, firstAt: null, lastAt: null, sample: [] });
  assert.equal(s.errors.total + s.messages.undeliverable, 0);
  // The users sent on through the other front end: every touched one succeeded again.
  assert.equal(s.messages.lost, 0, 'no MESSAGE lost to the kill');
  assert.deepEqual(impact.notRecovered, { users: 0, sample: [] });
  assert.ok(impact.noLaterTransaction.users < impact.retried.users, 'most retried users sent again, and it went through');
  assert.ok(impact.recoveredAt !== null && impact.recoveredAt >= Math.max(impact.retried.lastAt!, impact.failed.lastAt ?? 0));
  // A MESSAGE re-sent to the other front end waited out the dispatcher's 3 s timer first: delayed.
  assert.ok((impact.delayed.byKind.message ?? 0) >= failovers.poolFailoverMessage!, `every retried MESSAGE was delayed: ${delayedText(impact.delayed, outage.downAt)}`);
  assert.ok(impact.delayed.longestSeconds! >= 3, 'the longest waited the dispatcher\'s timer');

  // As a person reads them: the text report, and the page in Chromium, say what summary.json says.
  // A front end's crash takes nobody offline (their bindings live on in fe1): the headline says so.
  assert.equal(outage.lowestOnline, outage.onlineBefore);
  assert.match(outageHeadline(outage), /^pool\/fe2 killed at [\d.]+ s, restarted at [\d.]+ s: online stayed 30 throughout$/);
  const text = formatSummaryText(s, runDir);
  assert.ok(text.includes(`fault      ${outageHeadline(outage)}`), text);
  assert.ok(text.includes(`retried elsewhere  ${transactionsText(impact.retried, outage.downAt)}`), text);
  assert.ok(text.includes(`delayed  ${delayedText(impact.delayed, outage.downAt)}`), text);
  assert.ok(text.includes(`recovery ${recoveryText(outage)}`));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await browser.newPage();
    await page.goto(`file://${join(runDir, 'index.html')}`);
    assert.equal(await page.locator('h3#outage-0').innerText(), outageHeadline(outage));
    const cell = (field: string) => page.locator(`#outage-0-impact [data-field="${field}"]`).innerText();
    assert.equal(await cell('failed'), transactionsText(impact.failed, outage.downAt));
    assert.equal(await cell('retried'), transactionsText(impact.retried, outage.downAt));
    assert.equal(await cell('delayed'), delayedText(impact.delayed, outage.downAt));
    assert.equal(await cell('recovery'), recoveryText(outage));
    const named = await page.locator('#outage-0-retried tbody tr td:first-child').allInnerTexts();
    assert.deepEqual(named, impact.retried.sample.map((u) => u.user), 'the users retried elsewhere, as summary.json samples them');
    const late = await page.locator('#outage-0-delayed tbody tr td:first-child').allInnerTexts();
    assert.deepEqual(late, impact.delayed.sample.map((u) => u.user), 'the users whose sends were accepted late, as summary.json samples them');
  } finally {
    await browser.close();
  }
});
