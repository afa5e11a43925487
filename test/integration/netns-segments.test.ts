/**
 * Several generator hosts on one machine: the lab InspIRCd in its own network namespace, one
 * namespace per generator segment (src/lab/netns.ts), each segment a separate `imload run
 * --segment i/3 --allow-remote` process there, then `imload merge`. The merged run must account
 * for the whole population, every delivery, and the server's own count; each segment's traffic
 * must have crossed its own namespace's link.
 *
 * Needs root (CAP_NET_ADMIN). Skipped only when neither root nor CI; CI runs as root, so there a
 * failure to create namespaces fails the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { mergeCommand, type MergedJournalHeader } from '../../src/commands/merge.js';
import { createTopology, linkBytes, runSegmentsInNamespaces, startLabInNamespace } from '../../src/lab/netns.js';
import { readJournal } from '../../src/metrics/journal.js';
import { buildSummary } from '../../src/analysis/summary.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 45;
const SEGMENTS = 3;

const SCENARIO = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667 }
scenarios:
  hosts:
    target: chat
    seed: 31
    timeScale: 240
    population:
      users: ${USERS}
      channels: { count: 3, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: 45 }
      - { phase: hold, duration: 12s }
      - { phase: rampDown, rate: 90 }
    behaviour:
      messagesPerHour: 4
      channelMessagesPerHour: 3
      activityStart: rampUpEnd
      activityDelay: 5s
    thresholds:
      - messages.lost == 0
`;

function namespaces(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5000 });
}

test('one segment per network namespace against a namespaced InspIRCd, merged', { timeout: 240_000 }, async (t) => {
  if (process.getuid?.() !== 0 && !process.env.CI) {
    t.skip('needs root to create network namespaces (CI runs it as root)');
    return;
  }
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const tag = `t${process.pid.toString(36)}`;
  const topology = createTopology({ generators: SEGMENTS, tag });
  try {
    assert.equal(namespaces().split('\n').filter((l) => l.startsWith(`imload-${tag}-`)).length, SEGMENTS + 1);
    const server = await startLabInNamespace(topology, 'inspircd');
    let runs;
    const { file, dir } = writeScenario(SCENARIO);
    try {
      assert.equal(server.url, `irc://${topology.server.address}:6667`);
      runs = await runSegmentsInNamespaces(topology, { file, scenario: 'hosts', target: 'chat', url: server.url, outDir: dir, timeoutMs: 120_000 });
    } finally {
      await server.stop();
    }
    const merged = await mergeCommand({ runDirs: runs.map((r) => r.runDir), out: join(dir, 'merged'), quiet: true });
    const s = merged.summary;
    assert.equal(merged.exitCode, 0, JSON.stringify(s.thresholds));
    assert.equal(s.users.requested, USERS);
    assert.equal(s.users.logonOk, USERS);
    assert.equal(s.users.peakOnline, USERS);
    assert.ok(s.messages.sent > 10 && s.messages.channelSent > 10, `${s.messages.sent} IM, ${s.messages.channelSent} channel`);
    assert.ok(s.messages.expected > 0 && s.messages.delivered === s.messages.expected, `${s.messages.delivered}/${s.messages.expected} delivered`);
    assert.equal(s.messages.misrouted, 0);
    assert.equal(s.messages.undeliverable, 0, 'every recipient, whatever its segment, was online on the one server');
    assert.equal(s.crossCheck?.imloadOnline, USERS);
    // The segments check the server at (nearly) the same moment, so an answer may include the
    // other segments' observer connections: at most SEGMENTS - 1 more, never fewer than USERS.
    const extra = Number(/(\d+) other segment\(s\) checked within a second/.exec(s.crossCheck?.source ?? '')?.[1] ?? 0);
    const serverOnline = s.crossCheck?.serverOnline ?? -1;
    assert.ok(serverOnline >= USERS && serverOnline <= USERS + extra && extra < SEGMENTS, `server says ${serverOnline}: ${s.crossCheck?.source}`);
    const header = readJournal(join(merged.runDir, 'journal.ndjson'))[0] as MergedJournalHeader;
    assert.deepEqual(header.mergedFrom.map((m) => m.segment), ['1/3', '2/3', '3/3']);

    // Each segment's application bytes went over its own namespace's link: the link carried at
    // least as many bytes (it adds headers), in both directions.
    topology.generators.forEach((g, i) => {
      const segment = buildSummary(readJournal(join(runs[i]!.runDir, 'journal.ndjson'))).summary;
      const link = linkBytes(g);
      assert.ok(segment.bandwidth.bytesOut > 0 && link.up >= segment.bandwidth.bytesOut, `segment ${i + 1}: ${link.up} bytes up, ${segment.bandwidth.bytesOut} sent`);
      assert.ok(link.down >= segment.bandwidth.bytesIn, `segment ${i + 1}: ${link.down} bytes down, ${segment.bandwidth.bytesIn} received`);
    });
  } finally {
    topology.teardown();
  }
  assert.ok(!namespaces().includes(`imload-${tag}-`), 'every namespace was deleted');
});
