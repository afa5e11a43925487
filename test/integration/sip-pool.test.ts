/**
 * The `kamailio-pool` lab (src/protocols/sip/pool-lab.ts): 30 users register through the director,
 * the dispatcher spreads them over two front ends, MESSAGEs cross front ends and are delivered
 * exactly once, presence (one presence server behind the pool) reaches watchers on either front
 * end, and every front end's own registered count equals the users imload has online. A front end
 * killed mid-run through the scenario's `faults:`: the report names the users whose MESSAGEs the
 * dispatcher retried on the other front end (or that failed), the outage and the recovery.
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
import { recoveryText, transactionsText } from '../../src/report/fault-text.js';

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
  const events = (user: string): VuEvents => ({
    bytes: () => undefined,
    message: (from, text) => void received.set(`${from}>${user}:${text}`, (received.get(`${from}>${user}:${text}`) ?? 0) + 1),
    presence: () => undefined,
    error: (kind, detail) => void errors.push(`${user} ${kind} ${detail ?? ''}`),
    disconnected: (reason) => void errors.push(`${user} disconnected ${reason}`),
    note: () => undefined,
    metric: (metric, value) => void (metric === 'poolFailovers' && (failovers += value)),
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
    const outcomes = await Promise.all(sends.map(([from, to]) => users[from]!.message(`k${to}`, `after-kill k${from}->k${to}`)));
    for (const outcome of outcomes) assert.deepEqual(outcome, { ok: true, recipients: 1 }, 'delivered through fe2');
    await until(() => received.size === sends.length, `${sends.length} MESSAGEs`, 10_000);
    for (const [key, times] of received) assert.equal(times, 1, `exactly once: ${key}`);
    assert.ok(failovers >= 1, `the dispatcher retried on fe2 (${failovers} failovers)`);
    t.diagnostic(`${sends.length} MESSAGEs after the kill, ${failovers} re-sent by the dispatcher to fe2`);
    // The pool's count while fe1 is down: fe2's, which imload's count reads (fe1 does not answer).
    assert.equal(await agent.serverOnlineCount!(), count);

    // Recovery: fe1 restarts empty and DMQ gives it the pool's location table again.
    await pool.frontEnds[0]!.restart();
    await until(() => registered(pool.frontEnds[0]!.ctl) === count, `restarted fe1 resynchronised to ${count}`, 10_000, 200);

    await Promise.all(users.map((user) => user.logoff()));
    assert.deepEqual(errors, []);
  } finally {
    for (const user of users) user.destroy();
    await agent.close();
  }
});

/** A scenario file against the lab pool (Digest on, 5 contacts each), run by `imload run --lab`. */
function poolScenario(o: { seed: number; users: number; hold: string; messagesPerHour: number; presenceChangesPerHour: number; faults?: string }): string {
  return `version: 1
targets:
  pool:
    url: sip://127.0.0.1:5060
    transport: udp
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

test('`faults:` kill a front end mid-run: summary.json, the text report and the page name the users retried elsewhere, the outage and the recovery', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio') || !requireBinary(t, 'chromium', 'chromium')) return;
  process.env.IMLOAD_TEST_POOL_PASSWORD = 'pool-fault-secret';
  // Sends stop 3 s (the drain) before the hold ends: the retried users send on for ~4 s.
  const { file, dir } = writeScenario(
    poolScenario({ seed: 5, users: 30, hold: '14s', messagesPerHour: 12, presenceChangesPerHour: 0, faults: '- { at: 3s, kill: pool, restartAfter: 3s }' }),
  );
  const runDir = join(dir, 'run');
  const { result } = await runCommand({ file, scenario: 'it', lab: true, quiet: true, out: runDir, signal: new AbortController().signal });
  const s = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as Summary;
  assert.equal(result.reason, 'completed', s.end.detail);
  assert.deepEqual(s.faults.events.map((e) => [e.action, e.ok]), [['kill', true], ['restart', true]]);
  const outage = s.faults.outages[0]!;
  const impact = outage.transactions!;
  assert.ok(impact, 'the events file named the users');
  t.diagnostic(`failed ${transactionsText(impact.failed, outage.downAt)}; retried ${transactionsText(impact.retried, outage.downAt)}; ${recoveryText(outage)}`);
  // Every failover the sender counted is a named user's retried transaction, after the kill.
  assert.ok(s.counters.poolFailovers! > 0, 'the dispatcher retried some MESSAGEs on the other front end');
  assert.equal(impact.retried.transactions, s.counters.poolFailovers);
  assert.deepEqual(impact.retried.byKind, { poolFailovers: s.counters.poolFailovers });
  assert.ok(impact.retried.firstAt! >= outage.downAt, 'retried after the kill');
  assert.equal(impact.retried.sample.length, Math.min(impact.retried.users, FAULT_SAMPLE));
  // Failures (if any) are the run's own errors and refused sends, no more.
  assert.equal(Object.values(impact.failed.byKind).reduce((a, b) => a + b, 0), impact.failed.transactions);
  assert.ok(impact.failed.transactions <= s.errors.total + s.messages.undeliverable);
  // The users sent on through the other front end: every touched one succeeded again.
  assert.equal(s.messages.lost, 0, 'no MESSAGE lost to the kill');
  assert.deepEqual(impact.notRecovered, { users: 0, sample: [] });
  assert.ok(impact.noLaterTransaction.users < impact.retried.users, 'most retried users sent again, and it went through');
  assert.ok(impact.recoveredAt !== null && impact.recoveredAt >= Math.max(impact.retried.lastAt!, impact.failed.lastAt ?? 0));

  // As a person reads them: the text report, and the page in Chromium, say what summary.json says.
  const text = formatSummaryText(s, runDir);
  assert.ok(text.includes(`retried elsewhere  ${transactionsText(impact.retried, outage.downAt)}`), text);
  assert.ok(text.includes(`recovery ${recoveryText(outage)}`));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await browser.newPage();
    await page.goto(`file://${join(runDir, 'index.html')}`);
    const cell = (field: string) => page.locator(`#outage-0-impact [data-field="${field}"]`).innerText();
    assert.equal(await cell('failed'), transactionsText(impact.failed, outage.downAt));
    assert.equal(await cell('retried'), transactionsText(impact.retried, outage.downAt));
    assert.equal(await cell('recovery'), recoveryText(outage));
    const named = await page.locator('#outage-0-retried tbody tr td:first-child').allInnerTexts();
    assert.deepEqual(named, impact.retried.sample.map((u) => u.user), 'the users retried elsewhere, as summary.json samples them');
  } finally {
    await browser.close();
  }
});
