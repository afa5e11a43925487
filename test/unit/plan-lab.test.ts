/**
 * The design half of `imload plan --lab` (src/capacity/plan-lab.ts): how a plan's sites become
 * lab groups of whole segments, which servers stand where, the prediction per link by hand from
 * the byte model, and the judgement of measured counters. The lab run itself is
 * test/integration/plan-lab.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { buildPlan } from '../../src/capacity/plan.js';
import { PlanFile, type PlanFileInput } from '../../src/capacity/plan-input.js';
import { HEADER_BYTES_PER_PACKET, POOL_HEADER_BYTES_PER_PACKET, PlanLabError, apportion, designPlanLab, formatPlanLabText, judgePlanLab } from '../../src/capacity/plan-lab.js';
import { descriptorOf } from '../../src/protocols/registry.js';
import { crossingBytes, scheduledCrossing } from '../../src/capacity/crossing.js';
import { parseScenarioText } from '../../src/scenarios/load.js';

const planOf = (input: PlanFileInput) => buildPlan(PlanFile.parse(input));
const design = (input: PlanFileInput, users = 150, activitySeconds = 30) => designPlanLab(planOf(input), { users, activitySeconds, tolerance: 0.1 });

const COMPANY: PlanFileInput = {
  users: 150,
  workload: { contacts: 10 },
  sites: [
    { name: 'plant', users: 50, linkKbps: 64, costly: true },
    { name: 'branch', users: 50, linkKbps: 512 },
  ],
};

test('segments: the fewest equal segments that give every group its share within 5 %, each group at least one', () => {
  assert.deepEqual(apportion([50, 50, 50]), { modulus: 3, shares: [1, 1, 1] });
  assert.deepEqual(apportion([100, 50, 50]), { modulus: 4, shares: [2, 1, 1] });
  // A tiny site still gets a segment of its own; the rest share the others.
  const { modulus, shares } = apportion([12_000, 40, 47_960]);
  assert.equal(modulus, 8);
  assert.deepEqual(shares, [1, 1, 6]);
});

test('a three-site company: groups, servers, link rates and the prediction per link by hand', () => {
  const d = design(COMPANY);
  assert.deepEqual(d.groups.map((g) => [g.name, g.site, g.users, g.segments, g.home]), [
    ['plant', true, 50, [1], 'site'],
    ['branch', true, 50, [2], 'central'],
    ['central', false, 50, [3], 'central'],
  ]);
  assert.equal(d.modulus, 3);
  assert.equal(d.routerAt, 'central', 'two home servers need a router; no site has the Internet connection');
  // 8 h of activity in 30 s.
  assert.equal(d.timeScale, 960);

  const m = descriptorOf('rvp')!.byteModel;
  assert.deepEqual([m.logon, m.logonPerContact, m.logoff, m.logoffPerContact, m.message, m.messageDelivery, m.presenceChange, m.presenceNotify], [3_000, 1_519, 1_500, 776, 1_200, 978, 1_409, 962]);
  // Branch, served centrally: everything its clients exchange in a session, timers aside
  // (3 messages and 2 presence changes an hour for 8 h, 10 contacts).
  const session = 3_000 + 10 * 1_519 + 1_500 + 10 * 776; // 27,450
  const activity = 8 * (3 * (1_200 + 978) + 2 * (1_409 + 10 * 962)); // 228,736
  const branch = d.links.find((l) => l.site === 'branch')!;
  const homePart = (l: typeof branch) => l.parts.find((p) => p.role === 'homeServer')!;
  assert.ok(Math.abs(homePart(branch).predictedBytes - 50 * (session + activity)) < 1e-6, `${homePart(branch).predictedBytes}`);
  // Plant, with its own home server: subscriptions and unsubscriptions, messages and presence
  // notifications (as one home relays them to another) between its users and users elsewhere,
  // both ways, counted on the lab's own schedule (the plant is segment 1 of 3: users 0, 3, 6, …).
  assert.equal(m.presenceRelay, 1_009);
  const plant = d.links.find((l) => l.site === 'plant')!;
  const labScenario = parseScenarioText(d.scenarioYaml, 'plan-lab.yaml').scenarios[d.scenarioName]!;
  const drawn = scheduledCrossing(labScenario, (u) => u % 3 === 0);
  assert.equal(homePart(plant).predictedBytes, drawn.subscriptions * (1_519 + 776) + drawn.messages * 1_200 + drawn.notifications * 1_009);
  assert.match(homePart(plant).basis, new RegExp(`${drawn.subscriptions} subscriptions, ${drawn.messages.toLocaleString('en')} messages, ${drawn.notifications.toLocaleString('en')} presence notifications`));
  // The plan's own count at its rates, each lab user's contacts drawn from the 149 others, 100 of
  // them elsewhere: the lab's draws are within a few per cent of it.
  const crossing = 2 * 10 * (1_519 + 776) + 2 * 8 * (3 * 1_200 + 2 * 10 * 1_009); // 426,380
  const expected = 50 * crossing * (100 / 149);
  assert.ok(Math.abs(homePart(plant).predictedBytes / expected - 1) < 0.05, `${homePart(plant).predictedBytes} drawn, ${expected} at the rates`);
  assert.notEqual(homePart(plant).predictedBytes, expected, 'the draws, not the rates');
  // The link's prediction is its roles' parts together.
  for (const l of d.links) assert.equal(l.predictedBytes, l.parts.reduce((n, p) => n + p.predictedBytes, 0));
  // The lab link is as full as the plan's: 64 kbit/s × 50 lab users / 50 online × 960.
  assert.equal(plant.labBitsPerSecond, 64_000 * 960);

  const scenario = parse(d.scenarioYaml) as { scenarios: Record<string, { timeScale: number; population: { users: number; contacts: number }; phases: { phase: string; duration?: string }[]; behaviour: Record<string, unknown> }> };
  const s = scenario.scenarios[d.scenarioName]!;
  assert.equal(s.timeScale, 960);
  assert.deepEqual(s.population, { users: 150, contacts: 10 });
  // The activity window is the hold less the delay and the drain: exactly 30 s.
  assert.equal(s.phases[1]!.duration, '34s');
  assert.equal(s.behaviour.activityDelay, '1s');
  assert.equal(s.behaviour.drain, '3s');
});

test('local= cannot be reproduced by uniformly drawn lab contacts: the design says so', () => {
  const d = design({ ...COMPANY, sites: [{ name: 'plant', users: 50, linkKbps: 64, costly: true, contactsInSite: 0.6 }, { name: 'branch', users: 50, linkKbps: 512 }] });
  assert.ok(d.notes.some((n) => /local= \(plant\) is not reproduced/.test(n)), d.notes.join('\n'));
});

test('one home server: no router; a lab session long enough for a protocol timer is refused; no sites is bad input', () => {
  const d = design({ users: 100, sites: [{ name: 'branch', users: 50, linkKbps: 2_048 }] });
  assert.equal(d.routerAt, undefined);
  assert.ok(d.groups.every((g) => g.home === 'central'));
  assert.throws(() => design(COMPANY, 150, 2_000), (e: Error) => e instanceof PlanLabError && /protocol timer fire/.test(e.message));
  assert.throws(() => design({ users: 100 }), (e: Error) => e instanceof PlanLabError && /--lab needs sites/.test(e.message));
});

test('the judgement: headers come off per packet, the chat port apart from the rest, the ratio decides the verdict, the text says which link differs', () => {
  const d = design(COMPANY);
  const [plant, branch] = d.links;
  const chatOf = (l: typeof plant) => l!.parts.find((p) => p.role === 'chatServer')!.predictedBytes;
  const poolOf = (l: typeof plant) => l!.parts.find((p) => p.role === 'frontEndPool')!.predictedBytes;
  // Plant: exactly the prediction once 1,000 packets' headers are taken off, 200 of them the
  // chat port's, which carried exactly the chat prediction, and 300 the pool port's (UDP: 42
  // header bytes each), exactly the pool's; branch: 20 % over, its chat 50 % over.
  const direction = (bytes: number, packets: number, header = HEADER_BYTES_PER_PACKET) => ({ bytes: bytes / 2 + (packets / 2) * header, packets: packets / 2 });
  const plantWire = { bytes: plant!.predictedBytes / 2 + (700 / 2) * HEADER_BYTES_PER_PACKET + (300 / 2) * POOL_HEADER_BYTES_PER_PACKET, packets: 500 };
  const counts = [
    { site: 'plant', up: plantWire, down: plantWire, drops: 0, clientBytes: 1, chat: { up: direction(chatOf(plant), 200), down: direction(chatOf(plant), 200), clientBytes: 7 }, pool: { up: direction(poolOf(plant), 300, POOL_HEADER_BYTES_PER_PACKET), down: direction(poolOf(plant), 300, POOL_HEADER_BYTES_PER_PACKET), clientBytes: 5 } },
    { site: 'branch', up: { bytes: branch!.predictedBytes * 0.6, packets: 0 }, down: { bytes: branch!.predictedBytes * 0.6, packets: 0 }, drops: 3, clientBytes: 1, resends: 1234, chat: { up: { bytes: chatOf(branch) * 0.75, packets: 0 }, down: { bytes: chatOf(branch) * 0.75, packets: 0 }, clientBytes: 7 } },
  ];
  const result = judgePlanLab(planOf(COMPANY), d, { counts, servers: [], runDirs: ['runs'] });
  const [plantResult, branchResult] = result.links;
  assert.ok(Math.abs(plantResult!.ratio - 1) < 1e-9);
  assert.equal(plantResult!.verdict, 'agrees');
  for (const part of plantResult!.parts) assert.ok(Math.abs(part.ratio - 1) < 1e-9, `${part.role}: ${part.ratio}`);
  assert.equal(plantResult!.parts.find((p) => p.role === 'chatServer')!.clientBytes, 7);
  assert.ok(Math.abs(branchResult!.ratio - 1.2) < 1e-9);
  assert.equal(branchResult!.verdict, 'differs');
  assert.ok(Math.abs(branchResult!.parts.find((p) => p.role === 'chatServer')!.ratio - 1.5) < 1e-9);
  assert.equal(result.ok, false);
  assert.ok(!('scenarioYaml' in result.design));
  assert.ok(result.design.chat && !('scenarioYaml' in result.design.chat));
  const text = formatPlanLabText(result);
  assert.match(text, /^ {2}branch +central +50 .* 1\.2 .* DIFFERS \(beyond 10 %\)$/m);
  assert.match(text, /^ {2}branch +chat \(IRC\) +central +[\d.,]+ +[\d.,]+ +1\.5 +0 +DIFFERS \(beyond 10 %\)$/m);
  assert.match(text, /differs from the plan's prediction by more than 10 % on branch\./);
  assert.match(text, /the link dropped 3 packets, whose resends are in the measured bytes; its clients re-sent 1,234 requests left unanswered in time \(a busy lab host or link\), which are in the measured bytes and not in the prediction$/m);
  assert.doesNotMatch(text, /^ {2}plant: .*re-sent/m, 'a site whose clients re-sent nothing says nothing of it');
});

test('a site the plan gives chat servers keeps its chat on its LAN: nothing crosses its link, and the lab puts a chat server there', () => {
  // 60 users per chat server: 150 users need 3, so a hub (the plant, with its own home server) gets one.
  const plan = planOf({ ...COMPANY, roles: { chatServer: 'small-chat' }, profiles: { 'small-chat': { title: 'a small chat server', protocol: 'irc', figures: [{ id: 'users-per-chat-server', metric: 'users.peakOnline', kind: 'atLeast', value: 60, unit: 'concurrent users', source: 'test', wording: '60 users' }] } } } as PlanFileInput);
  const plant = plan.placement!.sites.find((s) => s.name === 'plant')!;
  assert.equal(plant.placement.chatServer.where, 'site', plant.placement.chatServer.why);
  const d = designPlanLab(plan, { users: 150, activitySeconds: 30, tolerance: 0.1 });
  assert.deepEqual(d.chat!.servers.map((s) => [s.at, s.users, s.groups.map((g) => g.name)]), [['plant', 50, ['plant']], ['central', 100, ['branch', 'central']]]);
  const chatPart = (site: string) => d.links.find((l) => l.site === site)!.parts.find((p) => p.role === 'chatServer')!;
  assert.equal(chatPart('plant').predictedBytes, 0);
  // The branch is half the central chat server's users: half its predicted bytes.
  assert.ok(Math.abs(chatPart('branch').predictedBytes - d.chat!.servers[1]!.predictedBytes / 2) < 1e-6);
});

test('pools: one lab server where the plan puts each pool, federated over one population; a site with its own puts only its exchanges with contacts elsewhere on its link, and the pool port is judged with UDP headers off', () => {
  const plan = planOf(COMPANY);
  // 50 users × 1.6 kbit/s do not fit 64 kbit/s: the plant gets a pool; the branch's 512 carry its users.
  const where = (site: string) => plan.placement!.sites.find((s) => s.name === site)!.placement.frontEndPool;
  assert.equal(where('plant').where, 'site', where('plant').why);
  assert.equal(where('branch').where, 'central', where('branch').why);
  const d = designPlanLab(plan, { users: 150, activitySeconds: 30, tolerance: 0.1 });
  const pool = d.pool!;
  assert.equal(pool.protocol, 'sip');
  assert.equal(pool.labKind, 'kamailio');
  assert.equal(pool.federated, true);
  // The home servers' segments: each pool holds its groups' users of the one population.
  assert.deepEqual(pool.servers.map((s) => [s.at, s.users, s.modulus, s.groups.map((g) => [g.name, g.segments])]), [
    ['plant', 50, d.modulus, [['plant', d.groups.find((g) => g.name === 'plant')!.segments]]],
    ['central', 100, d.modulus, [['branch', d.groups.find((g) => g.name === 'branch')!.segments], ['central', d.groups.find((g) => g.name === 'central')!.segments]]],
  ]);
  // One scenario for every pool: the plan's workload, contacts drawn from everyone, on the domain
  // the SIP byte model was fitted on (every address carries its length).
  assert.equal(pool.domain, descriptorOf('sip')!.byteModel.domain);
  const scenarios = (parse(pool.scenarioYaml) as { targets: Record<string, { url: string; domain: string }>; scenarios: Record<string, { population: { users: number; contacts: number }; behaviour: { messagesPerHour: number } }> });
  assert.deepEqual(Object.values(scenarios.targets), [{ url: 'sip://127.0.0.1:1', domain: pool.domain }]);
  assert.deepEqual(Object.keys(scenarios.scenarios), [pool.servers[0]!.scenarioName]);
  assert.deepEqual(scenarios.scenarios[pool.servers[0]!.scenarioName]!.population, { users: 150, contacts: 10 });
  assert.equal(scenarios.scenarios[pool.servers[0]!.scenarioName]!.behaviour.messagesPerHour, plan.workload.messagesPerHour);
  // By hand from the SIP byte model at the plan's rates: a session's logon, logoff and activity,
  // 10 contacts, 8 h, timers left out (none fires in a lab session).
  const m = descriptorOf('sip')!.byteModel;
  const perUser = m.logon + 10 * m.logonPerContact + m.logoff + 10 * m.logoffPerContact + 8 * (3 * (m.message + m.messageDelivery) + 2 * (m.presenceChange + 10 * m.presenceNotify));
  const poolPart = (site: string) => d.links.find((l) => l.site === site)!.parts.find((p) => p.role === 'frontEndPool')!;
  // Scaled by the schedule's own draws over the rates (a few per cent at 150 users).
  assert.ok(Math.abs(pool.drawsOverRates - 1) < 0.05, `draws over rates ${pool.drawsOverRates}`);
  assert.ok(Math.abs(poolPart('branch').predictedBytes / (50 * perUser * pool.drawsOverRates) - 1) < 1e-9, `${poolPart('branch').predictedBytes} vs ${50 * perUser * pool.drawsOverRates}`);
  // The plant's own pool: its users' exchanges with users elsewhere on the pool scenario's
  // schedule, at the model's bytes per exchange; near the plan's count at its rates.
  const poolScenario = parseScenarioText(pool.scenarioYaml, 'plan-lab-pool.yaml').scenarios[pool.servers[0]!.scenarioName]!;
  assert.equal(poolPart('plant').predictedBytes, crossingBytes(scheduledCrossing(poolScenario, (u) => u % 3 === 0), m));
  const { session } = pool.model;
  assert.ok(Math.abs(poolPart('plant').predictedBytes / (50 * (session.crossing - session.crossingTimers) * (100 / 149)) - 1) < 0.05);
  assert.ok(poolPart('plant').predictedBytes > 0);

  // The judgement: the pool's port carried exactly its prediction in UDP datagrams (42 header bytes each), the rest the home servers'.
  const branch = d.links.find((l) => l.site === 'branch')!;
  const homeBytes = branch.parts.find((p) => p.role === 'homeServer')!.predictedBytes;
  const chatBytes = branch.parts.find((p) => p.role === 'chatServer')!.predictedBytes;
  const poolBytes = poolPart('branch').predictedBytes;
  const half = (payload: number, packets: number, header: number) => ({ bytes: payload / 2 + (packets / 2) * header, packets: packets / 2 });
  const plantLink = d.links.find((l) => l.site === 'plant')!;
  const result = judgePlanLab(plan, d, {
    counts: [
      { site: 'plant', up: half(plantLink.predictedBytes, 100, HEADER_BYTES_PER_PACKET), down: half(plantLink.predictedBytes, 100, HEADER_BYTES_PER_PACKET), drops: 0, clientBytes: 1, pool: { up: { bytes: 0, packets: 0 }, down: { bytes: 0, packets: 0 }, clientBytes: 0 } },
      {
        site: 'branch',
        up: { bytes: half(homeBytes, 400, HEADER_BYTES_PER_PACKET).bytes + half(chatBytes, 60, HEADER_BYTES_PER_PACKET).bytes + half(poolBytes, 200, 42).bytes, packets: 330 },
        down: { bytes: half(homeBytes, 400, HEADER_BYTES_PER_PACKET).bytes + half(chatBytes, 60, HEADER_BYTES_PER_PACKET).bytes + half(poolBytes, 200, 42).bytes, packets: 330 },
        drops: 0,
        clientBytes: 9,
        chat: { up: half(chatBytes, 60, HEADER_BYTES_PER_PACKET), down: half(chatBytes, 60, HEADER_BYTES_PER_PACKET), clientBytes: 2 },
        pool: { up: half(poolBytes, 200, 42), down: half(poolBytes, 200, 42), clientBytes: 4 },
      },
    ],
    servers: [],
    runDirs: [],
  });
  const branchResult = result.links.find((l) => l.site === 'branch')!;
  const poolResult = branchResult.parts.find((p) => p.role === 'frontEndPool')!;
  assert.ok(Math.abs(poolResult.ratio - 1) < 1e-9, `pool ratio ${poolResult.ratio}`);
  assert.equal(poolResult.clientBytes, 4);
  assert.ok(Math.abs(branchResult.parts.find((p) => p.role === 'homeServer')!.ratio - 1) < 1e-9);
  assert.equal(branchResult.verdict, 'agrees');
  assert.ok(result.design.pool && !('scenarioYaml' in result.design.pool));
  assert.match(formatPlanLabText(result), /^ {2}branch +pool \(SIP\) +central /m);
});
