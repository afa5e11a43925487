/**
 * Netsplits in the analysis: split windows from the fault records, deliveries lost across a split
 * counted apart from the server's losses, IMs refused across it, and each split-off user's heal
 * measured from its own receipts — all on synthetic events files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { analyseRecording } from '../../src/analysis/deliveries.js';
import { netsplitReports, splitWindows } from '../../src/analysis/netsplit.js';
import type { JournalFault, JournalSplit } from '../../src/metrics/journal.js';
import type { RecordedEvent } from '../../src/metrics/recording.js';

/** Six users on three servers by range (u0,u1 | u2,u3 | u4,u5); the link to the third is cut. */
const SPLIT: JournalSplit = { link: 's1-s3', servers: [2], serverNames: ['s3'], network: { spread: 'range', users: 6, servers: 3 }, users: 2 };
const fault = (action: JournalFault['action'], t: number, extra: Partial<JournalFault> = {}): JournalFault => ({ type: 'fault', at: 0, t, action, target: 'net/s1-s3', ok: true, ...extra });
/** Cut at 5 s, link back at 8 s, servers whole again 1.5 s later: the split explains losses up to 9.5 s. */
const FAULTS = [fault('netsplit', 5, { split: SPLIT }), fault('heal', 8, { relinkMs: 1500 })];

const everyone = (): RecordedEvent[] => [0, 1, 2, 3, 4, 5].flatMap((u): RecordedEvent[] => [{ u, t: 0, k: 'logon' }, { u, t: 1, k: 'join', ch: '#a' }]);
const im = (u: number, seq: number, to: number, t: number): RecordedEvent[] => [
  { u, t, k: 'message', to: `u${to + 1}`, toIndex: to, seq },
  { u, t: t + 1, k: 'sent', seq, n: 1 },
];
const say = (u: number, seq: number, t: number, n: number): RecordedEvent[] => [
  { u, t, k: 'say', ch: '#a', seq },
  { u, t: t + 1, k: 'sent', seq, n },
];
const recv = (u: number, from: number, seq: number, t: number, ch?: string): RecordedEvent => ({ u, t, k: 'recv', from, seq, ...(ch ? { ch } : {}) });

async function analyse(events: readonly RecordedEvent[], faults: readonly JournalFault[] = FAULTS) {
  const dir = mkdtempSync(join(tmpdir(), 'imload-netsplit-'));
  const path = join(dir, 'events.ndjson.gz');
  writeFileSync(path, gzipSync(events.map((e) => `${JSON.stringify(e)}\n`).join('')));
  const windows = splitWindows(faults);
  const analysis = await analyseRecording(path, { timeoutMs: 10_000, lossesPath: join(dir, 'losses.ndjson'), duplicates: 0, misrouted: 0, splits: windows });
  assert.ok(analysis);
  const losses = readFileSync(join(dir, 'losses.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { sender: number; recipient: number; t: number; reason: string });
  return { ...analysis, report: netsplitReports(windows, analysis.splits)[0]!, losses };
}

test('split windows: the cut, the link’s return and the servers’ relink; a failed relink ends the window at the link’s return', () => {
  const [whole] = splitWindows(FAULTS);
  assert.deepEqual([whole!.cutMs, whole!.backMs, whole!.relinkMs, whole!.endMs], [5000, 8000, 1500, 9500]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((u) => whole!.splitOff(u)), [false, false, false, false, true, true]);
  const [failed] = splitWindows([FAULTS[0]!, fault('heal', 8, { ok: false, detail: 'the network did not link' })]);
  assert.deepEqual([failed!.relinkMs, failed!.endMs], [null, 8000]);
  const [open] = splitWindows([FAULTS[0]!]);
  assert.deepEqual([open!.backMs, open!.endMs], [null, Infinity]);
  // A cut recorded without the network's shape cannot tell sides apart: no window.
  assert.deepEqual(splitWindows([fault('netsplit', 5)]), []);
});

test('losses across the split are the split’s; the same kind of loss on one side, or after the relink, is the server’s', async () => {
  const { deliveries, report, losses } = await analyse([
    ...everyone(),
    // In flight at the cut: the channel message reaches its own side only, the IM to u4 never arrives.
    ...say(0, 1, 4990, 5),
    recv(1, 0, 1, 4993, '#a'),
    recv(2, 0, 1, 4993, '#a'),
    recv(3, 0, 1, 4994, '#a'),
    ...im(0, 2, 4, 4995),
    // During the split u0's server counts only its side (3 others); u3 misses it: the server's.
    ...say(0, 3, 6000, 3),
    recv(1, 0, 3, 6003, '#a'),
    recv(2, 0, 3, 6003, '#a'),
    // An IM across the split is refused (recipient offline): no delivery expected.
    { u: 0, t: 6500, k: 'message', to: 'u6', toIndex: 5, seq: 4 },
    { u: 0, t: 6502, k: 'send-failed', seq: 4, reason: 'offline' },
    // On one side during the split, not received: the server's.
    ...im(1, 1, 2, 7000),
    // After the relink, across the old split, not received: the server's.
    ...im(0, 5, 4, 12_000),
    { u: -1, t: 60_000, k: 'stop' },
  ]);
  assert.equal(deliveries.lostToNetsplit, 3, 'u4 and u5 missed the channel message in flight, u4 the IM');
  assert.equal(deliveries.lost, 3);
  assert.deepEqual(deliveries.lostByReason, { 'left-channel': 0, 'logged-off': 0, 'connection-lost': 0, 'membership-race': 0, 'dropped-by-server': 3 });
  assert.equal(deliveries.expected, deliveries.delivered + deliveries.lost + deliveries.cancelled + deliveries.lostToNetsplit);
  assert.deepEqual(
    losses.map((l) => [l.t, l.sender, l.recipient, l.reason]),
    [
      [4990, 0, 4, 'netsplit'],
      [4990, 0, 5, 'netsplit'],
      [4995, 0, 4, 'netsplit'],
      [6000, 0, 3, 'dropped-by-server'],
      [7000, 1, 2, 'dropped-by-server'],
      [12_000, 0, 4, 'dropped-by-server'],
    ],
  );
  assert.deepEqual({ ...report.lost, examples: report.lost!.examples.length }, { total: 3, im: 1, channel: 2, examples: 3 });
  assert.equal(report.refusedIms, 1);
  assert.deepEqual(report.window, { from: 5, to: 9.5 });
});

test('heal: each split-off user from the link’s return to its first message from the other side', async () => {
  const { report } = await analyse([
    ...everyone(),
    // A straggler sent before the cut, received after the return, does not count; nor does a message from its own side.
    ...say(0, 1, 4000, 5),
    recv(5, 0, 1, 8050, '#a'),
    ...im(5, 1, 4, 8100),
    recv(4, 5, 1, 8101),
    // Sent during the split and the relink, heard after it.
    ...say(0, 2, 9690, 5),
    recv(4, 0, 2, 9700, '#a'),
    ...im(1, 1, 5, 10_190),
    recv(5, 1, 1, 10_200),
    { u: -1, t: 60_000, k: 'stop' },
  ]);
  assert.deepEqual(report.heal, { users: 2, heard: 2, leftFirst: 0, notHeard: 0, p50Ms: 1700, p90Ms: 2200, maxMs: 2200, firstMs: 1700, allHeardMs: 2200 });
  assert.equal(report.relinkMs, 1500, 'the servers’ relink is reported apart from the users’ heal');
  assert.equal(report.onlineAtCut, 2);
});

test('heal: a user who left before hearing, and one who never heard: no moment at which every user had heard', async () => {
  const { report } = await analyse([
    ...everyone(),
    ...im(0, 1, 4, 9000),
    recv(4, 0, 1, 9004),
    { u: 4, t: 9500, k: 'logoff' },
    { u: -1, t: 60_000, k: 'stop' },
  ]);
  assert.deepEqual(report.heal, { users: 2, heard: 1, leftFirst: 0, notHeard: 1, p50Ms: 1004, p90Ms: 1004, maxMs: 1004, firstMs: 1004, allHeardMs: null });
  const { report: left } = await analyse([...everyone(), { u: 5, t: 8500, k: 'logoff' }, ...im(0, 1, 4, 9000), recv(4, 0, 1, 9004), { u: -1, t: 60_000, k: 'stop' }]);
  assert.deepEqual([left.heal!.heard, left.heal!.leftFirst, left.heal!.notHeard, left.heal!.allHeardMs], [1, 1, 0, 1004]);
  // Logged off during the split: not online at the link's return, so no heal to measure.
  const { report: gone } = await analyse([...everyone(), { u: 5, t: 6000, k: 'logoff' }, ...im(0, 1, 4, 9000), recv(4, 0, 1, 9004), { u: -1, t: 60_000, k: 'stop' }]);
  assert.deepEqual([gone.onlineAtCut, gone.heal!.users, gone.heal!.heard, gone.heal!.allHeardMs], [2, 1, 1, 1004]);
});

test('without a netsplit nothing is attributed to one', async () => {
  const { deliveries, splits } = await analyse([...everyone(), ...im(0, 1, 4, 5000), { u: -1, t: 60_000, k: 'stop' }], []);
  assert.deepEqual([deliveries.lost, deliveries.lostToNetsplit, splits.length], [1, 0, 0]);
});
