/** Every lost delivery explained: sends matched with receipts in synthetic events files, one per loss reason. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { analyseDeliveries } from '../../src/analysis/deliveries.js';
import type { RecordedEvent } from '../../src/metrics/recording.js';

const TIMEOUT = 10_000;

function eventsFile(events: readonly RecordedEvent[]): { path: string; losses: string } {
  const dir = mkdtempSync(join(tmpdir(), 'imload-losses-'));
  const path = join(dir, 'events.ndjson.gz');
  writeFileSync(path, gzipSync(events.map((e) => `${JSON.stringify(e)}\n`).join('')));
  return { path, losses: join(dir, 'losses.ndjson') };
}

const online = (u: number, t = 0, channels: string[] = []): RecordedEvent[] => [
  { u, t, k: 'logon' },
  ...channels.map((ch) => ({ u, t: t + 1, k: 'join' as const, ch })),
];
const im = (u: number, seq: number, to: number, t: number, n = 1): RecordedEvent[] => [
  { u, t, k: 'message', to: `u${to + 1}`, toIndex: to, seq },
  { u, t: t + 1, k: 'sent', seq, n },
];
const say = (u: number, seq: number, ch: string, t: number, n: number): RecordedEvent[] => [
  { u, t, k: 'say', ch, seq },
  { u, t: t + 1, k: 'sent', seq, n },
];
const recv = (u: number, from: number, seq: number, t: number, ch?: string): RecordedEvent => ({ u, t, k: 'recv', from, seq, ...(ch ? { ch } : {}) });

async function analyse(events: readonly RecordedEvent[], presenters?: Record<string, number[]>) {
  const file = eventsFile(events);
  const result = await analyseDeliveries(file.path, {
    timeoutMs: TIMEOUT,
    lossesPath: file.losses,
    presentersOf: (ch) => (presenters?.[ch] ? new Set(presenters[ch]) : undefined),
    duplicates: 0,
    misrouted: 0,
  });
  assert.ok(result, 'the file has send outcomes and receipts');
  const lines = readFileSync(file.losses, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { result, lines };
}

test('delivered instant and channel messages: nothing lost, a duplicate receipt counted once', async () => {
  const { result, lines } = await analyse([
    ...online(0, 0, ['#a']),
    ...online(1, 0, ['#a']),
    ...online(2, 0, ['#a']),
    ...im(0, 1, 1, 1000),
    recv(1, 0, 1, 1005),
    recv(1, 0, 1, 1006),
    ...say(0, 2, '#a', 2000, 2),
    recv(1, 0, 2, 2003, '#a'),
    recv(2, 0, 2, 2004, '#a'),
    { u: 0, t: 60_000, k: 'stop' },
  ]);
  assert.deepEqual({ ...result, examples: undefined, lostByReason: undefined }, {
    source: 'events', expected: 3, delivered: 3, lost: 0, lostToNetsplit: 0, cancelled: 0, unexpected: 0, duplicates: 0, misrouted: 0, timeoutMs: TIMEOUT, examples: undefined, lostByReason: undefined,
  });
  assert.deepEqual(lines, []);
});

test('each loss gets the reason a recorded event gives it', async () => {
  const { result, lines } = await analyse([
    ...online(0, 0, ['#a']),
    ...online(1, 0, ['#a']),
    ...online(2, 0, ['#a']),
    ...online(3, 0),
    ...online(4, 0),
    // u1 logs off before the IM arrives.
    ...im(0, 1, 1, 1000),
    { u: 1, t: 1500, k: 'logoff' },
    { u: 1, t: 3000, k: 'logon' },
    { u: 1, t: 3001, k: 'join', ch: '#a' },
    // u3's connection drops.
    ...im(0, 2, 3, 4000),
    { u: 3, t: 4002, k: 'disconnect', reason: 'connection-reset' },
    // u2 parts #a while the channel message is on its way; u1 gets it.
    ...say(0, 3, '#a', 6000, 2),
    { u: 2, t: 6010, k: 'part', ch: '#a' },
    recv(1, 0, 3, 6020, '#a'),
    // u4 stays online and never gets it: dropped by the server.
    ...im(0, 4, 4, 8000),
    { u: 0, t: 60_000, k: 'stop' },
  ]);
  assert.equal(result.expected, 5);
  assert.equal(result.delivered, 1);
  assert.equal(result.lost, 4);
  assert.deepEqual(result.lostByReason, { 'logged-off': 1, 'connection-lost': 1, 'left-channel': 1, 'membership-race': 0, 'dropped-by-server': 1 });
  assert.deepEqual(lines.map((l) => [l.sender, l.recipient, l.channel, l.t, l.reason]), [
    [0, 1, null, 1000, 'logged-off'],
    [0, 3, null, 4000, 'connection-lost'],
    [0, 2, '#a', 6000, 'left-channel'],
    [0, 4, null, 8000, 'dropped-by-server'],
  ]);
  assert.deepEqual(result.examples, lines, 'the summary keeps the first losses as examples');
});

test('the sender counted more members than the events show: a membership race, not a server drop', async () => {
  const { result, lines } = await analyse([
    ...online(0, 0, ['#a']),
    ...online(1, 0, ['#a']),
    ...say(0, 1, '#a', 1000, 2),
    recv(1, 0, 1, 1004, '#a'),
    { u: 0, t: 60_000, k: 'stop' },
  ]);
  assert.equal(result.lost, 1);
  assert.equal(result.lostByReason!['membership-race'], 1);
  assert.equal(result.lostByReason!['dropped-by-server'], 0);
  assert.deepEqual(lines.map((l) => [l.recipient, l.reason]), [[null, 'membership-race']]);
});

test('a user who joined while the send was on its way, counted by the sender at its acknowledgement: named in the race', async () => {
  const { result, lines } = await analyse([
    ...online(0, 0, ['#a']),
    ...online(1, 0, ['#a']),
    { u: 2, t: 0, k: 'logon' },
    { u: 0, t: 1000, k: 'say', ch: '#a', seq: 1 },
    { u: 2, t: 1003, k: 'join', ch: '#a' },
    { u: 0, t: 1005, k: 'sent', seq: 1, n: 2 },
    recv(1, 0, 1, 1004, '#a'),
    { u: 0, t: 60_000, k: 'stop' },
  ]);
  assert.deepEqual([result.expected, result.delivered, result.lost], [2, 1, 1]);
  assert.deepEqual(lines.map((l) => [l.recipient, l.reason]), [[2, 'membership-race']]);
});

test('a member who missed a message the sender counted differently is a race too', async () => {
  // The sender counted 1 recipient; the events show 2 members, neither received it.
  const { result } = await analyse([
    ...online(0, 0, ['#a']),
    ...online(1, 0, ['#a']),
    ...online(2, 0, ['#a']),
    ...say(0, 1, '#a', 1000, 1),
    { u: 0, t: 60_000, k: 'stop' },
  ]);
  assert.deepEqual([result.expected, result.lost, result.lostByReason!['membership-race']], [1, 1, 1]);
});

test('sent within the timeout before the stop: cancelled by the run’s end, not lost; a recipient logged off by the stop too', async () => {
  const { result, lines } = await analyse([
    ...online(0, 0),
    ...online(1, 0),
    ...online(2, 0),
    ...im(0, 1, 1, 55_000),
    ...im(0, 2, 2, 30_000),
    { u: 0, t: 58_000, k: 'stop' },
    { u: 2, t: 30_500, k: 'logoff' },
    ...im(0, 3, 2, 40_000),
  ]);
  // seq 2: u2 logged off at 30.5 s, before the stop; seq 3 went to u2 already gone: lost.
  // seq 1, 3 s before the stop: cut off by the run's end.
  assert.deepEqual([result.expected, result.delivered, result.lost, result.cancelled], [3, 0, 2, 1]);
  assert.equal(result.lostByReason!['logged-off'], 2);
  assert.deepEqual(lines.map((l) => [l.t, l.reason]).sort(), [[30_000, 'logged-off'], [40_000, 'logged-off'], [55_000, 'cancelled']]);
});

test('a recipient logged off by the run’s stop, within the timeout: cancelled', async () => {
  const { result } = await analyse([
    ...online(0, 0),
    ...online(1, 0),
    ...im(0, 1, 1, 20_000),
    { u: 0, t: 20_002, k: 'stop' },
    { u: 1, t: 20_003, k: 'logoff' },
  ]);
  assert.deepEqual([result.lost, result.cancelled], [0, 1]);
});

test('receipts of failed or never-finished sends are unexpected deliveries, not delivered-of-expected', async () => {
  const { result } = await analyse([
    ...online(0, 0),
    ...online(1, 0),
    { u: 0, t: 1000, k: 'message', to: 'u2', toIndex: 1, seq: 1 },
    { u: 0, t: 1200, k: 'send-failed', seq: 1, reason: 'timeout' },
    recv(1, 0, 1, 1100),
    { u: 0, t: 2000, k: 'message', to: 'u2', toIndex: 1, seq: 2 },
    recv(1, 0, 2, 2100),
    // An ok send that was lost: the counters (received 2 = expected 1) would hide it.
    ...im(0, 3, 1, 3000),
    { u: 0, t: 60_000, k: 'stop' },
  ]);
  assert.deepEqual([result.expected, result.delivered, result.unexpected, result.lost], [1, 0, 2, 1]);
  assert.equal(result.lostByReason!['dropped-by-server'], 1);
});

test('an auditorium listener’s question goes to the presenters only: other listeners are no loss', async () => {
  const { result } = await analyse(
    [
      ...online(0, 0, ['#stage']), // presenter
      ...online(1, 0, ['#stage']), // presenter
      ...online(2, 0, ['#stage']), // listener, asks
      ...online(3, 0, ['#stage']), // listener
      ...say(2, 1, '#stage', 1000, 2),
      recv(0, 2, 1, 1003, '#stage'),
      ...say(0, 2, '#stage', 2000, 3),
      recv(1, 0, 2, 2003, '#stage'),
      recv(2, 0, 2, 2003, '#stage'),
      { u: 0, t: 60_000, k: 'stop' },
    ],
    { '#stage': [0, 1] },
  );
  // The question (to presenters 0 and 1) missed presenter 1; the presenter's message (to 1, 2, 3)
  // missed listener 3. The sender's counts match the audience, so both were dropped, not races.
  assert.deepEqual([result.expected, result.delivered, result.lost], [5, 3, 2]);
  assert.equal(result.lostByReason!['dropped-by-server'], 2);
  assert.equal(result.lostByReason!['membership-race'], 0);
});

test('a recording from before send outcomes and receipts: null, the caller falls back to the counters', async () => {
  const file = eventsFile([...online(0, 0), { u: 0, t: 100, k: 'message', to: 'u2', toIndex: 1 }]);
  assert.equal(await analyseDeliveries(file.path, { duplicates: 0, misrouted: 0 }), null);
});
