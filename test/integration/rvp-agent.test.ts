/**
 * End to end: the RVP agent's virtual users against the reference server started as processes
 * through src/protocols/rvp/lab.ts. A few hundred users with 20 contacts each log on, change presence and
 * exchange messages; every message arrives exactly once, every watcher sees every change, and
 * the server's own online count matches the users the harness believes are logged on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRvpLab } from '../../src/protocols/rvp/lab.js';
import { rvpProtocol } from '../../src/protocols/rvp/index.js';
import type { PresenceState, ProtocolAgent, VirtualUser, VuEvents } from '../../src/protocols/types.js';

const PASSWORD = 'e2e-secret';
const CONTACTS = 20;
const name = (i: number) => `u${String(i).padStart(6, '0')}`;

/** What one user observed, as the engine would record it. */
class Recorder implements VuEvents {
  readonly messagesSeen: { from: string; text: string }[] = [];
  readonly changesSeen: { contact: string; state: PresenceState; note: string }[] = [];
  readonly errors: string[] = [];
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    private readonly totals: { away: number; messages: number },
    private readonly onEvent: () => void,
  ) {}

  bytes(inBytes: number, outBytes: number): void {
    this.bytesIn += inBytes;
    this.bytesOut += outBytes;
  }
  message(from: string, text: string): void {
    this.messagesSeen.push({ from, text });
    this.totals.messages++;
    this.onEvent();
  }
  presence(contact: string, state: PresenceState, note: string): void {
    this.changesSeen.push({ contact, state, note });
    if (state === 'away') this.totals.away++;
    this.onEvent();
  }
  error(kind: string, detail?: string): void {
    this.errors.push(`${kind}: ${detail ?? ''}`);
  }
  disconnected(): void {}
  note(): void {}
  metric(): void {}
}

/** Resolves once `done()` holds; re-checked on every recorded event. Bounded by `timeoutMs`. */
function waiter() {
  let pending: { done: () => boolean; resolve: () => void } | undefined;
  return {
    poke: () => {
      if (pending?.done()) {
        pending.resolve();
        pending = undefined;
      }
    },
    until: (done: () => boolean, what: string, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        if (done()) return resolve();
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
        pending = {
          done,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      }),
  };
}

/** Runs `work` for every item with at most `limit` in flight. */
async function inBatches<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function scenario(topology: 'combined' | 'routed', users: number): Promise<void> {
  const lab = await startRvpLab({ topology, homes: 2, userCount: users, password: PASSWORD });
  let agent: ProtocolAgent | undefined;
  try {
    agent = await rvpProtocol.createAgent({
      name: 'rvp-e2e',
      protocol: 'rvp',
      host: lab.entry.host,
      port: lab.entry.port,
      transport: 'tcp',
      domain: 'im.example.com',
      options: { maxConnections: 32 },
    });
    const wait = waiter();
    const totals = { away: 0, messages: 0 };
    const recorders: Recorder[] = [];
    const vus: VirtualUser[] = [];
    const contactsOf = (i: number) => Array.from({ length: CONTACTS }, (_, k) => name((i + k + 1) % users));
    for (let i = 0; i < users; i++) {
      const recorder = new Recorder(totals, wait.poke);
      recorders.push(recorder);
      vus.push(agent.createUser({ index: i, name: name(i), password: PASSWORD, contacts: contactsOf(i), channels: [] }, recorder));
    }
    const indexes = [...vus.keys()];
    await inBatches(indexes, 50, (i) => vus[i]!.logon());
    assert.equal(await agent.serverOnlineCount!(), users, 'the server counts every logged-on user');

    // Presence: everyone goes away with a unique note; each of the 20 watchers must see it.
    const sawChange = (watcher: number, contact: number) =>
      recorders[watcher]!.changesSeen.some((p) => p.contact === name(contact) && p.state === 'away' && p.note === `note-${contact}`);
    await inBatches(indexes, 50, (i) => vus[i]!.setPresence('away', `note-${i}`));
    const watchersOf = (i: number) => Array.from({ length: CONTACTS }, (_, k) => (i - k - 1 + users) % users);
    // A cheap count per event; the exact who-saw-what check runs once the count is reached.
    await wait.until(() => totals.away >= users * CONTACTS, 'every watcher to see every change');
    for (const i of indexes) for (const w of watchersOf(i)) assert.ok(sawChange(w, i), `${name(w)} saw ${name(i)} go away`);
    for (const recorder of recorders) {
      const changes = recorder.changesSeen.filter((p) => p.state === 'away');
      assert.equal(changes.length, CONTACTS, 'one away notification per watched contact, no duplicates');
    }

    // Messages: each user sends two, to its first and eleventh contact.
    const expected = new Map<string, number>();
    await inBatches(indexes, 50, async (i) => {
      for (const k of [0, 10]) {
        const to = (i + k + 1) % users;
        const text = `m:${i}->${to}`;
        expected.set(text, to);
        const outcome = await vus[i]!.message(name(to), text);
        assert.deepEqual(outcome, { ok: true, recipients: 1 });
      }
    });
    await wait.until(() => totals.messages >= expected.size, 'all messages');
    const seen = new Set<string>();
    recorders.forEach((recorder, i) => {
      for (const m of recorder.messagesSeen) {
        assert.equal(expected.get(m.text), i, `${m.text} reached the right user`);
        assert.equal(m.from, name(Number(m.text.slice(2, m.text.indexOf('-')))), 'sender is the notification-from');
        assert.ok(!seen.has(m.text), `${m.text} delivered once`);
        seen.add(m.text);
      }
    });
    assert.equal(seen.size, expected.size);

    // Half log off: the server's count follows, and a message to a logged-off user is "offline".
    const leaving = indexes.filter((i) => i % 2 === 1);
    await inBatches(leaving, 50, (i) => vus[i]!.logoff());
    assert.equal(await agent.serverOnlineCount!(), users - leaving.length);
    assert.deepEqual((await vus[0]!.message(name(1), 'anyone there?')).ok, false);
    const offline = await vus[0]!.message(name(1), 'still there?');
    assert.equal(offline.ok === false && offline.reason, 'offline');
    await inBatches(indexes.filter((i) => i % 2 === 0), 50, (i) => vus[i]!.logoff());
    assert.equal(await agent.serverOnlineCount!(), 0);

    const errors = recorders.flatMap((r) => r.errors);
    assert.deepEqual(errors, [], 'no transport or protocol errors');
    assert.ok(recorders.every((r) => r.bytesIn > 0 && r.bytesOut > 0), 'bytes are charged to every user');
  } finally {
    await agent?.close();
    await lab.stop();
  }
}

test('combined server: 300 users x 20 contacts, presence and messages through the VirtualUser API', async () => {
  await scenario('combined', 300);
});

test('router + 2 home servers: 120 users x 20 contacts, 302s followed and cached, presence across homes', async () => {
  await scenario('routed', 120);
});
