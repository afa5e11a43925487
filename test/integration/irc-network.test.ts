/**
 * Linked IRC networks (#19): the lab's InspIRCd servers linked in a tree, users spread over them,
 * channels spanning servers. Every delivery arrives once, the network's global LUSERS equals
 * imload's online count, and delivery latency is reported split into same-server and
 * cross-server. The lab's links run through counting proxies: their bytes are measured, and
 * cutting one splits the network until the link returns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { runCommand } from '../../src/commands/run.js';
import type { Summary } from '../../src/analysis/summary.js';
import { formatMs, formatNumber } from '../../src/report/format.js';
import { startInspircdNetwork, waitForNetwork } from '../../src/protocols/irc/lab.js';
import { queryLusers } from '../../src/protocols/irc/lusers.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const SCENARIO = `version: 1
targets:
  net: { url: irc://127.0.0.1:6667, lab: inspircd-network, network: { servers: 3, spread: range } }
scenarios:
  it:
    target: net
    seed: 19
    timeScale: 240
    population:
      users: 90
      channels: { count: 3, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: 100 }
      - { phase: hold, duration: 12s }
      - { phase: rampDown, rate: 200 }
    behaviour:
      messagesPerHour: 6
      channelMessagesPerHour: 4
      activityStart: rampUpEnd
      activityDelay: 4s
    thresholds:
      - messages.lost == 0
      - errors.count == 0
`;

test('3 linked InspIRCd servers: users spread, cross-server channels, exact delivery, global count, same/cross latency', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const { file, dir } = writeScenario(SCENARIO);
  const { exitCode, result } = await runCommand({ file, scenario: 'it', lab: true, quiet: true, out: join(dir, 'run'), workers: 1, signal: new AbortController().signal });
  const s = result.summary;
  const detail = JSON.stringify({ messages: s.messages, errors: s.errors.byKind, users: s.users });
  assert.equal(s.users.peakOnline, 90, detail);
  assert.ok(s.messages.channelSent > 10 && s.messages.sent > 10, detail);
  assert.equal(s.messages.delivered, s.messages.expected, `every intended recipient got every message: ${detail}`);
  assert.equal(s.messages.lost, 0);
  assert.equal(s.messages.duplicates, 0);
  assert.equal(s.messages.misrouted, 0);
  const same = s.latency.deliverySameServer;
  const cross = s.latency.deliveryCrossServer;
  assert.ok(same && same.count > 0, `same-server deliveries measured: ${JSON.stringify(same)}`);
  assert.ok(cross && cross.count > 0, `cross-server deliveries measured: ${JSON.stringify(cross)}`);
  assert.equal(same.count + cross.count, s.latency.delivery.count, 'every delivery is either same-server or cross-server');
  assert.ok(s.crossCheck, 'the network was asked for its global count');
  assert.equal(s.crossCheck.imloadOnline, 90);
  assert.equal(s.crossCheck.serverOnline, 90, `the network's global LUSERS (266) says ${s.crossCheck.serverOnline}`);
  const links = s.notes.find((n) => n.key === 'network-links');
  assert.ok(links, `link traffic reported: ${JSON.stringify(s.notes)}`);
  for (const name of ['s1-s2', 's1-s3']) {
    const match = new RegExp(`${name}: s\\d→s\\d (\\d+) B, s\\d→s\\d (\\d+) B`).exec(links.text);
    assert.ok(match && Number(match[1]) > 0 && Number(match[2]) > 0, `${name} carried traffic both ways: ${links.text}`);
  }
  assert.equal(exitCode, 0, JSON.stringify(s.thresholds));
});

test('lab network: links carried by counting proxies; a cut link splits the network until it returns', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const network = await startInspircdNetwork({ servers: 3 });
  t.after(() => network.stop());
  assert.equal(network.servers.length, 3);
  assert.equal(new Set(network.servers.map((s) => s.port)).size, 3, 'each server has its own client port');
  for (const server of network.servers) assert.equal((await queryLusers({ host: server.host, port: server.port })).servers, 3, `${server.name} sees the whole network`);
  assert.deepEqual(network.links.map((l) => l.name), ['s1-s2', 's1-s3']);
  for (const link of network.links) {
    const stats = link.proxy.stats();
    assert.equal(stats.open, 1, `${link.name} carries one server connection`);
    assert.ok(stats.upstreamBytes > 0 && stats.downstreamBytes > 0, `${link.name} counted its burst: ${JSON.stringify(stats)}`);
  }
  const link = network.links[1]!;
  const cutAt = Date.now();
  assert.equal(link.proxy.cut(3000), 1, 'the cut dropped the link');
  const root = network.servers[0]!;
  const split = network.servers[2]!;
  // The servers notice the closed link at once: each side now counts only itself (s3) or s1+s2.
  let seen: number | undefined;
  while ((seen = (await queryLusers({ host: split.host, port: split.port })).servers) !== 1) assert.ok(Date.now() - cutAt < 3000, `s3 still sees ${seen} servers`);
  assert.equal((await queryLusers({ host: root.host, port: root.port })).servers, 2);
  // s3 redials every 2 s; the proxy refuses until the cut ends, then the network is whole again.
  await waitForNetwork(network.servers, 3, 20_000);
  assert.ok(Date.now() - cutAt >= 3000, 'the link stayed cut for its whole period');
  assert.ok(link.proxy.stats().accepted >= 2, 'the link came back as a new connection');
});

test('netsplit: a link of the lab network cut mid-run; who was split off, what was lost, the users’ heal and the servers’ relink, in summary.json, the page and the text', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd') || !requireBinary(t, 'chromium', 'chromium')) return;
  const scenario = SCENARIO.replace('users: 90', 'users: 60')
    .replace('channelMessagesPerHour: 4', 'channelMessagesPerHour: 30')
    // 18 s: the users send until ~2.5 s before the hold ends, and the servers' relink has come up
    // to 5 s after the link's return (at 8 s); with 14 s a relink 4.2 s late left no traffic to hear.
    .replace('duration: 12s', 'duration: 18s')
    .replace(/    thresholds:\n.*\n.*\n/, '    faults:\n      - { at: 5s, netsplit: net, link: s1-s3, for: 3s }\n');
  assert.match(scenario, /netsplit: net/);
  const { file, dir } = writeScenario(scenario);
  const runDir = join(dir, 'run');
  await runCommand({ file, scenario: 'it', lab: true, quiet: true, out: runDir, workers: 1, signal: new AbortController().signal });
  // What a person reads comes from summary.json as written, not from the in-memory result.
  const s = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as Summary;
  const cut = s.faults.events.find((e) => e.action === 'netsplit');
  const heal = s.faults.events.find((e) => e.action === 'heal');
  assert.ok(cut?.ok && heal?.ok, JSON.stringify(s.faults.events));
  // Range spread: users 40..59 are on s3, the server behind the cut link.
  assert.match(cut.detail ?? '', /split off s3 with 20 users of 60/);
  assert.ok(heal.t - cut.t >= 2.9, 'the heal is journaled when the link returns');
  const detail = JSON.stringify({ crossCheck: s.crossCheck, errors: s.errors.byKind, users: s.users, messages: s.messages, netsplits: s.faults.netsplits });
  assert.equal(s.faults.netsplits.length, 1, detail);
  const split = s.faults.netsplits[0]!;
  assert.deepEqual([split.target, split.link, split.servers, split.users, split.populationUsers, split.onlineAtCut], ['net/s1-s3', 's1-s3', ['s3'], 20, 60, 20]);
  assert.equal(split.relinkMs, Number(/again (\d+) ms later/.exec(heal.detail ?? '')?.[1]), 'the servers’ relink, reported apart');
  assert.ok(split.relinkMs! >= 0 && split.relinkMs! < 20_000, detail);
  assert.deepEqual(split.window, { from: split.cutAt, to: Math.round((split.linkBackAt! * 1000 + split.relinkMs!)) / 1000 });

  // The split-off users stayed on their server (no disconnects): every one of them was online at
  // the link's return and heard the other side again, measured from their own receipts.
  assert.equal(s.users.peakOnline, 60);
  assert.equal(s.users.disconnects, 0, detail);
  const h = split.heal!;
  assert.deepEqual([h.users, h.heard, h.leftFirst, h.notHeard], [20, 20, 0, 0], detail);
  assert.ok(h.firstMs! > 0 && h.firstMs! <= h.p50Ms! && h.p50Ms! <= h.p90Ms! && h.p90Ms! <= h.maxMs! && h.allHeardMs === h.maxMs, detail);

  // During the split each side's servers drop the other side's users: IMs to them are refused (401).
  assert.ok(split.refusedIms! > 0 && split.refusedIms! <= s.messages.undeliverable, detail);
  // Nothing lost that the split does not explain; what it explains is counted apart, one by one.
  assert.equal(s.messages.lost, 0, detail);
  assert.equal(s.messages.delivered + s.messages.cancelled + s.messages.lostToNetsplit, s.messages.expected, detail);
  assert.equal(split.lost!.total, s.messages.lostToNetsplit);
  const splitLosses = readFileSync(join(runDir, 'losses.ndjson'), 'utf8').split('\n').filter((l) => l.includes('"reason":"netsplit"'));
  assert.equal(splitLosses.length, split.lost!.total);
  assert.ok(s.invariants.every((i) => i.holds), JSON.stringify(s.invariants));
  // Not asserted: the global LUSERS after the heal (docs/topologies.md § The cross-check after a netsplit).
  assert.ok(s.crossCheck && s.crossCheck.imloadOnline === 60, detail);
  t.diagnostic(`cross-check ${(s.crossCheck.at - Date.parse(s.startedAt)) / 1000} s after the start (link back at ${split.linkBackAt} s, relinked ${split.relinkMs} ms later): the network's global LUSERS ${s.crossCheck.serverOnline}, imload ${s.crossCheck.imloadOnline}`);

  // The page, read in Chromium, says the same.
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`file://${join(runDir, 'index.html')}`);
  const visible = (selector: string) => page.locator(selector).innerText();
  assert.equal(await visible('#netsplits h2'), 'Netsplits');
  assert.equal(await visible('#netsplit-1'), 'net/s1-s3');
  assert.equal(await visible('#netsplit-1-split-off'), 's3 behind link s1-s3, with 20 of 60 users (as the target spreads them), 20 of them online at the cut');
  assert.match(await visible('#netsplit-1-relink'), new RegExp(`^${formatMs(split.relinkMs!)} after the link’s return every server saw the whole network again`));
  const healed = await visible('#netsplit-1-heal');
  assert.ok(healed.startsWith(`every split-off user heard the other side again ${formatMs(h.allHeardMs!)} after the link’s return (20 of 20 online at the link’s return heard; per user p50 ${formatMs(h.p50Ms!)}, p90 ${formatMs(h.p90Ms!)}, max ${formatMs(h.maxMs!)}`), healed);
  assert.match(await visible('#netsplit-1-lost'), new RegExp(`^${formatNumber(split.lost!.total)} deliver(y|ies) \\(${split.lost!.im} IM, ${split.lost!.channel} channel\\)`));
  assert.match(await visible('#netsplit-1-refused'), new RegExp(`^${formatNumber(split.refusedIms!)} IMs? refused`));

  // And so does the text summary, as `imload report` prints it.
  const report = spawnSync(process.execPath, ['bin/imload.js', 'report', runDir], { encoding: 'utf8' });
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stdout, /\nnetsplit   net\/s1-s3\n/);
  assert.ok(report.stdout.includes(`users healed: every split-off user heard the other side again ${formatMs(h.allHeardMs!)}`), report.stdout);
  assert.ok(report.stdout.includes(`servers relinked: ${formatMs(split.relinkMs!)} after the link’s return`), report.stdout);
});
