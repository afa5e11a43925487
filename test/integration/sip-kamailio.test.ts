/**
 * The SIP agent against a real Kamailio 5.6 (src/protocols/sip/lab.ts) over UDP, TCP and TLS, with
 * Digest on: users log on with 20 contacts each, exchange MESSAGEs and presence changes through
 * the VirtualUser API, and the server's own registered count is checked at each step.
 */
import { after, test, type TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { sipProtocol } from '../../src/protocols/sip/index.js';
import type { SipAgent } from '../../src/protocols/sip/agent.js';
import { AgentError, type AgentTarget, type PresenceState, type VirtualUser, type VuEvents } from '../../src/protocols/types.js';
import { startKamailio, type KamailioLab } from '../../src/protocols/sip/lab.js';
import { requireBinary } from '../helpers/require.js';
import { until } from '../helpers/until.js';

const PASSWORD = 'lab-secret';
const CONTACTS = 20;
const WAIT_MS = 30_000;

let labStarting: Promise<KamailioLab> | undefined;
const lab = (): Promise<KamailioLab> => (labStarting ??= startKamailio({ password: PASSWORD, tls: true }));
after(async () => {
  if (labStarting !== undefined) await (await labStarting).stop();
});

/** Everything the engine would have been told, plus waiting for a condition with a deadline. */
class Recorder {
  readonly errors: string[] = [];
  readonly received = new Map<string, number>();
  /** watcher → contact → last note seen. */
  readonly notes = new Map<string, Map<string, string>>();
  bytesIn = 0;
  retransmissions = 0;
  bytesOut = 0;
  private readonly waiters = new Set<() => void>();

  eventsFor(user: string): VuEvents {
    const seen = new Map<string, string>();
    this.notes.set(user, seen);
    return {
      bytes: (inBytes, outBytes) => {
        this.bytesIn += inBytes;
        this.bytesOut += outBytes;
      },
      message: (from, text) => {
        this.received.set(`${from}>${user}:${text}`, (this.received.get(`${from}>${user}:${text}`) ?? 0) + 1);
        this.changed();
      },
      presence: (contact, _state: PresenceState, note) => {
        seen.set(contact, note);
        this.changed();
      },
      error: (kind, detail) => this.errors.push(`${user} ${kind} ${detail ?? ''}`),
      disconnected: (reason) => this.errors.push(`${user} disconnected ${reason}`),
      note: () => undefined,
      metric: (name: string, value: number) => void (name === 'retransmissions' && (this.retransmissions += value)),
    };
  }

  private changed(): void {
    for (const waiter of this.waiters) waiter();
  }

  /** Resolves once `done()` holds, re-checked on every message/presence event. */
  waitFor(done: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`));
      }, WAIT_MS);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}

function kamcmd(server: KamailioLab, ...args: string[]): string {
  return execFileSync('kamcmd', ['-s', server.ctl, ...args], { encoding: 'utf8', timeout: 5000 });
}

/** Runs `work` over items with at most `limit` in flight. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

const userName = (i: number): string => `u${String(i).padStart(4, '0')}`;

async function targetFor(transport: AgentTarget['transport']): Promise<AgentTarget> {
  const server = await lab();
  const port = transport === 'udp' ? server.udp.port : transport === 'tcp' ? server.tcp.port : server.tls!.port;
  return {
    name: `kamailio-${transport}`,
    protocol: 'sip',
    host: '127.0.0.1',
    port,
    transport,
    domain: server.domain,
    tls: { ca: server.caFile },
    options: { ctl: server.ctl },
  };
}

async function population(t: TestContext, transport: AgentTarget['transport'], count: number): Promise<void> {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const agent = await sipProtocol.createAgent(await targetFor(transport));
  const recorder = new Recorder();
  const indexes = Array.from({ length: count }, (_, i) => i);
  const contactsOf = (i: number): string[] => Array.from({ length: CONTACTS }, (_, k) => userName((i + k + 1) % count));
  const users: VirtualUser[] = indexes.map((i) =>
    agent.createUser(
      { index: i, name: userName(i), password: PASSWORD, contacts: contactsOf(i), channels: [] },
      recorder.eventsFor(userName(i)),
    ),
  );
  try {
    await inParallel(indexes, 25, (i) => users[i]!.logon());
    assert.equal(await agent.serverOnlineCount!(), count, 'Kamailio registered users = users logged on');

    // Three MESSAGEs per user, to contacts 1, 5 and 13 places on.
    const sends: Array<[number, number]> = indexes.flatMap((i) => [1, 5, 13].map((d): [number, number] => [i, (i + d) % count]));
    await inParallel(sends, 25, async ([from, to]) => {
      const outcome = await users[from]!.message(userName(to), `hello ${userName(from)}->${userName(to)}`);
      assert.deepEqual(outcome, { ok: true, recipients: 1 });
    });
    await recorder.waitFor(() => recorder.received.size === sends.length, `${sends.length} MESSAGEs`);

    // Every user changes presence; each of its 20 watchers must see the new note.
    await inParallel(indexes, 25, (i) => users[i]!.setPresence(i % 2 === 0 ? 'away' : 'busy', `note-${userName(i)}`));
    const watchersSeeingAll = (): boolean =>
      indexes.every((i) => contactsOf(i).every((contact) => recorder.notes.get(userName(i))!.get(contact) === `note-${contact}`));
    await recorder.waitFor(watchersSeeingAll, 'every watcher to see every presence change');

    await inParallel(indexes, 25, (i) => users[i]!.logoff());
    assert.equal(await agent.serverOnlineCount!(), 0, 'no registered users after logoff');

    for (const [key, times] of recorder.received) assert.equal(times, 1, `delivered exactly once: ${key}`);
    assert.deepEqual(recorder.errors, [], 'no errors (retransmissions are counted apart)');
    if (recorder.retransmissions > 0) t.diagnostic(`${recorder.retransmissions} retransmissions`);
    assert.ok(recorder.bytesIn > 0 && recorder.bytesOut > 0);
    assert.equal((agent as SipAgent).unroutedDatagrams.malformed, 0, 'no malformed datagrams');
    t.diagnostic(`${transport}: ${count} users, ${recorder.bytesIn + recorder.bytesOut} bytes`);
  } finally {
    for (const user of users) user.destroy();
    await agent.close();
  }
}

test('UDP: 150 users with 20 contacts exchange MESSAGEs and presence through Kamailio', (t) => population(t, 'udp', 150));
test('TCP: 150 users with 20 contacts exchange MESSAGEs and presence through Kamailio', (t) => population(t, 'tcp', 150));
test('TLS: 100 users with 20 contacts exchange MESSAGEs and presence through Kamailio', async (t) => {
  await population(t, 'tls', 100);
  // Kamailio 5.6 with OpenSSL 3 crashes when two TCP workers free the same TLS object (labTcpChildren): one worker serves TLS.
  if (labStarting !== undefined) assert.match(readFileSync(join((await labStarting).dir, 'kamailio.cfg'), 'utf8'), /^tcp_children=1$/m);
});

test('edge cases: offline recipient, wrong password, no channels, logon again', async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const agent = await sipProtocol.createAgent(await targetFor('tcp'));
  const recorder = new Recorder();
  const alice = agent.createUser({ index: 0, name: 'alice', password: PASSWORD, contacts: [], channels: [] }, recorder.eventsFor('alice'));
  const mallory = agent.createUser({ index: 1, name: 'mallory', password: 'wrong', contacts: [], channels: [] }, recorder.eventsFor('mallory'));
  try {
    await alice.logon();
    const outcome = await alice.message('nobody', 'hi');
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.reason, 'offline');
    const channel = { name: '#x', role: 'member' as const, auditorium: false, presenters: [] };
    await assert.rejects(alice.join(channel), (e: unknown) => e instanceof AgentError && e.kind === 'unsupported');
    await assert.rejects(alice.say(channel, 'x', 'all'), (e: unknown) => e instanceof AgentError && e.kind === 'unsupported');
    await assert.rejects(mallory.logon(), (e: unknown) => e instanceof AgentError && e.kind === 'auth-failed');
    await alice.logoff();
    // The same user logs on again on a new connection.
    await alice.logon();
    assert.equal(await agent.serverOnlineCount!(), 1);
    await alice.logoff();
    assert.deepEqual(recorder.errors, []);
    const server = await lab();
    for (const file of ['kamailio.cfg', 'kamailio.log']) {
      assert.ok(!readFileSync(join(server.dir, file), 'utf8').includes(PASSWORD), `the password is not in ${file}`);
    }
  } finally {
    alice.destroy();
    mallory.destroy();
    await agent.close();
  }
});

test('refreshes: REGISTER, SUBSCRIBE and PUBLISH granted for 10 s outlive their expiry', async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const base = await targetFor('udp');
  const agent = await sipProtocol.createAgent({
    ...base,
    options: { ...base.options, registerExpires: 10, subscribeExpires: 10, publishExpires: 10 },
  });
  const recorder = new Recorder();
  const offlineSightings: string[] = [];
  const aliceEvents = recorder.eventsFor('alice');
  const alice = agent.createUser(
    { index: 0, name: 'alice', password: PASSWORD, contacts: ['bob'], channels: [] },
    {
      ...aliceEvents,
      presence: (contact, state, note, at) => {
        if (state === 'offline') offlineSightings.push(contact);
        aliceEvents.presence(contact, state, note, at);
      },
    },
  );
  const bob = agent.createUser({ index: 1, name: 'bob', password: PASSWORD, contacts: ['alice'], channels: [] }, recorder.eventsFor('bob'));
  try {
    await alice.logon();
    await bob.logon();
    await bob.setPresence('away', 'before');
    await recorder.waitFor(() => recorder.notes.get('alice')!.get('bob') === 'before', 'alice to see "before"');
    const loggedOnAt = Date.now();
    const server = await lab();
    const initialEtag = /etag: (\S+)/.exec(kamcmd(server, 'presence.presentity_list'))?.[1];
    assert.ok(initialEtag !== undefined, 'Kamailio lists the publications');
    // The server's own view: alice's binding re-REGISTERed (CSeq past the challenged pair) and
    // the publications re-PUBLISHed (new ETag), polled with a deadline.
    await until(() => {
      const binding = /CSeq: (\d+)/.exec(kamcmd(server, 'ul.lookup', 'location', `alice@${server.domain}`));
      const etags = [...kamcmd(server, 'presence.presentity_list').matchAll(/etag: (\S+)/g)].map((m) => m[1]);
      return Number(binding?.[1] ?? 0) >= 3 && !etags.includes(initialEtag);
    }, 'REGISTER and PUBLISH refreshes', WAIT_MS, 250);
    // Not synchronisation: the point is to let every original 10 s grant run out.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, loggedOnAt + 12_000 - Date.now())));
    assert.equal(await agent.serverOnlineCount!(), 2, 'both bindings are still registered');
    await bob.setPresence('busy', 'after');
    await recorder.waitFor(() => recorder.notes.get('alice')!.get('bob') === 'after', 'alice to see "after" on the refreshed subscription');
    assert.deepEqual(offlineSightings, [], 'the publication never expired');
    assert.deepEqual(recorder.errors, []);
    await alice.logoff();
    await bob.logoff();
  } finally {
    alice.destroy();
    bob.destroy();
    await agent.close();
  }
});
