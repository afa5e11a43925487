/**
 * IRC users through the link emulator to a real InspIRCd: 100 ms added each way shows in the
 * measured delivery latency (compared with a run through the same proxy without delay), and
 * when the emulator drops every connection mid-run, the users notice and reconnect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import { startLinkProxy } from '../../src/faults/link-proxy.js';
import { requireBinary } from '../helpers/require.js';
import { journalShows } from '../helpers/journal.js';
import { writeScenario } from '../helpers/scenario.js';

const USERS = 30;

const scenario = (hold: string) => `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667 }
scenarios:
  link:
    target: chat
    seed: 5
    timeScale: 600
    population: { users: ${USERS}, channels: { count: 3, perUser: { min: 1, max: 1 } } }
    phases:
      - { phase: rampUp, rate: 30 }
      - { phase: hold, duration: ${hold} }
    behaviour:
      messagesPerHour: 3
      channelMessagesPerHour: 1
      activityStart: rampUpEnd
      activityDelay: 2s
      reconnect: { enabled: true, maxAttempts: 10, initialDelay: 500ms, maxDelay: 3s }
`;


test('IRC through the link emulator: added delay shows in delivery latency; dropped links reconnect', { timeout: 180_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const server = await startInspircd();
  const proxy = await startLinkProxy({ targetHost: server.host, targetPort: server.port });
  const target = `chat=irc://127.0.0.1:${proxy.port}`;
  try {
    // 1. Baseline: the same path, no delay.
    const base = writeScenario(scenario('12s'));
    const baseline = await runCommand({
      file: base.file, scenario: 'link', quiet: true, out: join(base.dir, 'run'), targets: [target], signal: new AbortController().signal,
    });
    const b = baseline.result.summary;
    assert.equal(b.users.peakOnline, USERS);
    assert.ok(b.latency.delivery.count > 20, `baseline deliveries: ${b.latency.delivery.count}`);
    assert.equal(b.messages.lost, 0);

    // 2. 100 ms each way (200 ms on a message's path), then every connection dropped mid-run.
    proxy.setDelay(100, 0, 'both');
    const faulty = writeScenario(scenario('5m'));
    const out = join(faulty.dir, 'run');
    const journal = join(out, 'journal.ndjson');
    const controller = new AbortController();
    const run = runCommand({ file: faulty.file, scenario: 'link', quiet: true, out, targets: [target], signal: controller.signal });
    let dropped = 0;
    try {
      const allOnline = await journalShows(journal, 0, (online) => online === USERS, 40_000);
      // Let delayed messages flow for a while before the links go down.
      await new Promise((resolve) => setTimeout(resolve, 8000));
      dropped = proxy.dropAll();
      const someGone = await journalShows(journal, allOnline, (online) => online < USERS, 10_000);
      await journalShows(journal, someGone, (online) => online === USERS, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    } finally {
      controller.abort();
    }
    const { result } = await run;
    const f = result.summary;
    const rise = f.latency.delivery.p50 - b.latency.delivery.p50;
    assert.ok(rise >= 150 && rise < 1000, `delivery p50 ${b.latency.delivery.p50} → ${f.latency.delivery.p50} ms (rise ${rise} ms)`);
    assert.ok(dropped >= USERS, `dropped ${dropped} connections`);
    assert.equal(f.users.disconnects, USERS, 'every user saw its link drop');
    assert.ok(f.users.reconnects >= USERS, `reconnects: ${f.users.reconnects}`);
    assert.ok(f.users.logonOk >= 2 * USERS, `everyone logged on again: ${JSON.stringify(f.users)}`);
    // A reset link: the lost session counted once per user, under the socket's own kind.
    assert.equal(f.errors.byKind['connection-reset'], USERS, `disconnects by kind: ${JSON.stringify(f.errors.byKind)}`);
    assert.equal(f.errors.byKind['unexpected-close'], undefined, JSON.stringify(f.errors.byKind));
    // Delay alone loses nothing; a drop may lose what was in flight on the link, which is counted.
    assert.equal(f.messages.duplicates, 0);
    assert.equal(f.messages.misrouted, 0);
    const stats = proxy.stats();
    assert.ok(stats.upstreamBytes > 0 && stats.downstreamBytes > 0);
    t.diagnostic(
      `baseline p50 ${b.latency.delivery.p50} ms, delayed p50 ${f.latency.delivery.p50} ms; ` +
        `dropped ${dropped}; disconnects ${f.users.disconnects}; reconnects ${f.users.reconnects}; ` +
        `errors ${JSON.stringify(f.errors.byKind)}; messages ${JSON.stringify(f.messages)}; baseline lost ${b.messages.lost}`,
    );
  } finally {
    await proxy.close();
    await server.stop();
  }
});
