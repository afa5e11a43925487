/**
 * `imload plan`, cases worked by hand: documented capacities (limits.md), the separate-router
 * rule, the SP2 router figure, the chat process file limit, SIP pools, and WAN link checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, type Plan } from '../../src/capacity/plan.js';
import { PlanFile, type PlanFileInput } from '../../src/capacity/plan-input.js';

function plan(input: PlanFileInput): Plan {
  return buildPlan(PlanFile.parse(input));
}

const servers = (p: Plan) => Object.fromEntries(p.servers.map((s) => [s.role, s.servers]));

test('corporate, 60,000 users all online: 6 homes, routers per 50,000 (and per 20,000 SP2), 3 chat servers but 4 processes, 1 SIP pool', () => {
  const p = plan({ users: 60_000, peakOnlineFraction: 1 });
  assert.equal(p.peakOnline, 60_000);
  assert.deepEqual(servers(p), {
    'IM home servers (RVP)': 6, // 60,000 / 10,000
    'IM routers (RVP)': 2, // ceil(60,000 / 50,000)
    'IM routers, SP2 figure (RVP)': 3, // 60,000 / 20,000
    'chat servers (IRC)': 3, // 60,000 / 20,000
    'chat server processes at the file limit (IRC)': 4, // ceil(60,000 / 19,990)
    'SIP/SIMPLE pools (front ends behind one load balancer)': 1, // 60,000 ≤ 100,000
  });
  // 60,000 online × 1.6 kbit/s (lcs2005 bandwidth-per-user).
  assert.equal(p.totalKbps, 96_000);
  const home = p.servers[0]!;
  assert.equal(home.from.kind, 'profile');
  assert.ok(home.from.kind === 'profile' && home.from.figure === 'users-per-home-server' && /10,000 online users/.test(home.from.wording));
  assert.ok(p.kbpsPerUser.from.kind === 'profile' && p.kbpsPerUser.from.figure === 'bandwidth-per-user');
});

test('router rule: one home server routes for itself; a second one needs a separate router', () => {
  const one = plan({ users: 10_000 });
  assert.equal(servers(one)['IM home servers (RVP)'], 1);
  assert.equal(servers(one)['IM routers (RVP)'], 0);
  assert.equal(servers(one)['IM routers, SP2 figure (RVP)'], 0);
  const two = plan({ users: 10_001 });
  assert.equal(servers(two)['IM home servers (RVP)'], 2);
  // 10,001 online is far below 50,000, but the rule still asks for one router.
  assert.equal(servers(two)['IM routers (RVP)'], 1);
  const rule = two.servers[1]!.rule;
  assert.ok(rule?.kind === 'rule' && /more than one Instant Messaging user home server/.test(rule.text));
});

test('hosting: 250,000 accounts, 5 % online = 12,500: 2 homes and a router; a 100-user branch on 56 kbit/s carries its 5 online users', () => {
  const p = plan({ users: 250_000, peakOnlineFraction: 0.05, sites: [{ name: 'branch', users: 100, linkKbps: 56 }] });
  assert.equal(p.peakOnline, 12_500);
  assert.equal(servers(p)['IM home servers (RVP)'], 2);
  assert.equal(servers(p)['IM routers (RVP)'], 1);
  assert.equal(servers(p)['chat servers (IRC)'], 1);
  const site = p.sites[0]!;
  assert.equal(site.peakOnline, 5); // ceil(100 × 0.05)
  assert.equal(site.kbps, 8); // 5 × 1.6
  assert.equal(site.kbpsWithHeadroom, 10); // × 1.25
  assert.equal(site.carries, true);
  // 56 / (1.6 × 1.25) = 28 online users → 28 / 0.05 = 560 accounts.
  assert.equal(site.maxUsers, 560);
});

test('corporate multi-site: a 100-user branch on 56 kbit/s does not carry its users; 40 users on 128 kbit/s do', () => {
  const p = plan({
    users: 5_000,
    peakOnlineFraction: 1,
    sites: [
      { name: 'branch-a', users: 100, linkKbps: 56 },
      { name: 'branch-b', users: 40, linkKbps: 128 },
    ],
  });
  const [a, b] = p.sites;
  assert.equal(a!.kbps, 160); // 100 × 1.6
  assert.equal(a!.carries, false);
  assert.ok(Math.abs(a!.linkUse - 160 / 56) < 1e-12);
  assert.equal(a!.maxUsers, 28); // floor(56 / 2)
  assert.equal(b!.kbps, 64);
  assert.equal(b!.kbpsWithHeadroom, 80);
  assert.equal(b!.carries, true);
  assert.equal(b!.maxUsers, 64); // floor(128 / 2)
  assert.ok(p.notes.some((n) => /Branch offices of 10–100 users/.test(n)));
});

test('headroom decides a link at the edge: 35 users × 1.6 = 56 kbit/s fills 56 kbit/s; with no headroom it carries, with 25 % it does not', () => {
  const site = [{ name: 'edge', users: 35, linkKbps: 56 }];
  assert.equal(plan({ users: 35, sites: site, headroom: 0 }).sites[0]!.carries, true);
  assert.equal(plan({ users: 35, sites: site, headroom: 0.25 }).sites[0]!.carries, false);
});

test('SP2 router figure as the router profile, a lower file limit, and pools past 100,000', () => {
  const p = plan({ users: 250_000, roles: { router: 'exchange2000-im-router-sp2' }, serverFdLimit: 10_000 });
  assert.equal(servers(p)['IM routers (RVP)'], 13); // ceil(250,000 / 20,000)
  assert.equal(servers(p)['chat server processes at the file limit (IRC)'], 26); // ceil(250,000 / 9,990)
  assert.equal(servers(p)['SIP/SIMPLE pools (front ends behind one load balancer)'], 3); // ceil(250,000 / 100,000)
  const processLine = p.servers[4]!;
  assert.equal(processLine.perServer, 9_990);
  assert.ok(processLine.rule?.kind === 'rule' && /holds at most 9,990 clients, not 20,000/.test(processLine.rule.text));
});

test('a custom profile sizes a role, and a heavier workload than the documented one is flagged', () => {
  const p = plan({
    users: 30_000,
    workload: { messagesPerHour: 12, contacts: 50 },
    roles: { homeServer: 'vendor-im' },
    profiles: {
      'vendor-im': {
        title: 'Vendor IM',
        figures: [{ id: 'users-per-box', metric: 'users.peakOnline', kind: 'atLeast', value: 7_500, unit: 'users', source: 'vendor sheet', wording: '7,500 per box' }],
      },
    },
  });
  assert.equal(servers(p)['IM home servers (RVP)'], 4);
  assert.ok(p.servers[0]!.from.kind === 'profile' && p.servers[0]!.from.profile === 'vendor-im');
  assert.ok(p.notes.some((n) => /12 messages\/hour and 50 contacts/.test(n)));
  assert.throws(() => plan({ users: 1, roles: { chatServer: 'no-such-profile' } }), /no limit profile named "no-such-profile"/);
});

test('nobody online needs no servers', () => {
  const p = plan({ users: 0 });
  assert.ok(p.servers.every((s) => s.servers === 0));
  assert.equal(p.totalKbps, 0);
});

test('modelled bandwidth for the workload: SIP at 3 IM and 2 presence changes an hour, 20 contacts, 8 h ≈ 0.267 kbit/s', () => {
  const sip = (workload: PlanFileInput['workload']) => plan({ users: 1, workload }).modelledBandwidth.find((m) => m.protocol === 'sip')!;
  // Logon 2,500 + 20 × 2,344 and logoff 2,500 + 20 × 2,413 = 100,140 bytes; each hour
  // 3 × 1,499 + 2 × (1,044 + 20 × 1,283) = 57,905 bytes; refreshes 49,380 bytes every 3,570 s.
  // (100,140 + 8 × 57,905 + 49,380 × 28,800 / 3,570) × 8 / 1000 / 28,800 = 0.26715 kbit/s.
  const base = sip({});
  assert.ok(Math.abs(base.kbpsPerUser - 0.26715) < 1e-4, String(base.kbpsPerUser));
  assert.match(base.basis, /3 messages and 2 presence changes an hour, 20 contacts, over 8 h/);
  // Three more messages an hour: 3 × 1,499 bytes per 3,600 s more.
  const busier = sip({ messagesPerHour: 6 });
  assert.ok(Math.abs(busier.kbpsPerUser - base.kbpsPerUser - (3 * 1_499 * 8) / 1000 / 3600) < 1e-9);
});
