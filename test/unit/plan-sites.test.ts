/**
 * Site-aware plans (#19 item 3): the placement rules of limits.md § Placement guidance applied to
 * a multi-site company, the WAN traffic each placement puts on each link computed by hand from the
 * byte model's figures and the documented 1.6 kbit/s, and the CLI's text from the real CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan, type Plan } from '../../src/capacity/plan.js';
import { PlanFile, parseSiteFlag, resolvePlanInput, type PlanFileInput } from '../../src/capacity/plan-input.js';
import { GUIDANCE, type Placement } from '../../src/capacity/plan-sites.js';
import { descriptorOf } from '../../src/protocols/registry.js';

function plan(input: PlanFileInput): Plan {
  return buildPlan(PlanFile.parse(input));
}

function placement(input: PlanFileInput): Placement {
  const p = plan(input).placement;
  assert.ok(p, 'a plan with sites has a placement');
  return p;
}

const site = (p: Placement, name: string) => p.sites.find((s) => s.name === name)!;
const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);

/**
 * What crosses a site's link per RVP user when the site has its own home server and all its
 * contacts are elsewhere, over the user's all-central bytes, for an 8-hour day (3 messages, 2
 * presence changes an hour, 20 contacts), by hand from the byte model's figures (docs/capacity.md
 * § Byte model): each subscription, unsubscription, renewal, message and presence notification
 * with a contact elsewhere crosses once, in each direction. `imload plan --lab` measures it.
 */
function rvpCrossingShare(): number {
  const m = descriptorOf('rvp')!.byteModel;
  // The figures this hand computation assumes; a refit of the model must revisit this test.
  assert.deepEqual(
    [m.logon, m.logonPerContact, m.logoff, m.logoffPerContact, m.message, m.messageDelivery, m.presenceChange, m.presenceNotify, m.presenceRelay],
    [3_000, 1_519, 1_500, 776, 1_200, 978, 1_409, 962, 1_009],
  );
  assert.deepEqual(m.timers.map((t) => [t.bytes, t.bytesPerContact, t.everySeconds]), [[1_000, 0, 900], [1_519, 1_519, 14_100]]);
  const session = 3_000 + 20 * 1_519 + 1_500 + 20 * 776; // 50,400
  const interactive = 8 * (3 * (1_200 + 978) + 2 * (1_409 + 20 * 962)); // 8 h × 47,832 = 382,656
  const timers = 1_000 * (28_800 / 900) + (1_519 + 20 * 1_519) * (28_800 / 14_100); // 32,000 + 65,155.7
  // A notification relayed between home servers: 1,009 bytes (presenceRelay).
  const crossing = 2 * (20 * (1_519 + 776) + 20 * 1_519 * (28_800 / 14_100) + 8 * (3 * 1_200 + 2 * 20 * 1_009)); // 919,262.1
  return crossing / (session + interactive + timers); // ≈ 1.734
}

test('a multi-site company: the dense site on a slow, costly link gets its own home servers; a small site on a fast link stays central', () => {
  const share = rvpCrossingShare();
  assert.ok(share > 1.733 && share < 1.735);
  const p = placement({
    users: 60_000,
    sites: [
      { name: 'plant', users: 12_000, linkKbps: 1_024, costly: true },
      { name: 'branch', users: 40, linkKbps: 2_048 },
    ],
  });
  const plant = site(p, 'plant');
  const branch = site(p, 'branch');
  // plant: 12,000 × 1.6 = 19,200 kbit/s, 24,000 with headroom, on 1,024: slow, and costly.
  assert.equal(plant.carriesCentral, false);
  assert.equal(plant.placement.homeServer.where, 'site');
  assert.equal(plant.placement.homeServer.servers, 2); // ⌈12,000 / 10,000⌉
  assert.equal(plant.placement.homeServer.rule, GUIDANCE.homeDensest);
  assert.match(plant.placement.homeServer.why, /slow and expensive/);
  // branch: 40 × 1.6 = 64, 80 with headroom, on 2,048 and not costly: central.
  assert.equal(branch.carriesCentral, true);
  assert.equal(branch.placement.homeServer.where, 'central');
  assert.equal(branch.placement.homeServer.servers, 0);
  assert.equal(branch.placement.frontEndPool.where, 'central');
  assert.equal(branch.placement.frontEndPool.rule, GUIDANCE.lcsCentral);

  // WAN on each link. All central: every online user's 1.6 kbit/s.
  assert.equal(plant.wan.allCentral, 19_200);
  assert.equal(branch.wan.allCentral, 64);
  // plant with its home servers: only the exchanges with contacts elsewhere cross, both ways, and
  // by default a site's contacts are spread like the population: 12,000 / 60,000 = 20 % at the
  // plant — too few for a local home server to lower the link's load.
  close(plant.contactsInSite, 0.2, 'contacts at the plant');
  close(plant.wan.homeServers, 12_000 * 1.6 * share * 0.8, 'plant WAN with home servers'); // ≈ 26,630 kbit/s, more than 19,200
  assert.equal(plant.carries.homeServers, false, 'still more than 1,024 kbit/s: the plan says so');
  assert.equal(branch.wan.homeServers, 64, 'the branch stays central: its whole load');
  close(p.allCentral.wanKbps.homeServers, 19_264, 'all-central WAN');
  close(p.placed.wanKbps.homeServers, 12_000 * 1.6 * share * 0.8 + 64, 'placed WAN');

  // Servers: 6 centrally; 5 central (48,000 online) + 2 at the plant = 7, "even when the total
  // would need fewer servers centrally".
  assert.equal(p.allCentral.homeServers, 6);
  assert.equal(p.placed.homeServers, 7);
  assert.equal(p.central.homeServers, 5);
  assert.ok(p.notes.some((n) => /7 home servers where central ones would need 6/.test(n)));
  // Routers: more than one home server, ⌈60,000 / 50,000⌉ = 2, central (no Internet site named).
  assert.equal(p.placed.routers, 2);
  assert.equal(p.routersAt, 'central');
  // Chat: the company needs 3 chat servers, so the plant (a hub now) gets a regional one.
  assert.equal(p.allCentral.chatServers, 3);
  assert.equal(plant.placement.chatServer.where, 'site');
  assert.equal(plant.placement.chatServer.rule, GUIDANCE.chatHubs);
  assert.equal(branch.placement.chatServer.rule, GUIDANCE.chatBranch);
  assert.equal(p.placed.chatServers, 4); // 3 central for 48,000 + 1 at the plant
});

test('co-locating communicative groups (local=) cuts the placed WAN in proportion; a fast costly link still gets home servers', () => {
  const share = rvpCrossingShare();
  const p = placement({
    users: 20_000,
    sites: [
      { name: 'lab', users: 2_000, linkKbps: 100_000, costly: true, contactsInSite: 0.9 },
      { name: 'depot', users: 2_000, linkKbps: 100_000 },
    ],
  });
  const lab = site(p, 'lab');
  // 2,000 × 1.6 = 3,200 kbit/s, 4,000 with headroom: the link carries it, but it is expensive.
  assert.equal(lab.carriesCentral, true);
  assert.equal(lab.placement.homeServer.where, 'site');
  assert.match(lab.placement.homeServer.why, /expensive link/);
  close(lab.wan.homeServers, 2_000 * 1.6 * share * 0.1, 'lab WAN with 90 % of contacts at the lab');
  // The pool follows LCS 2005's rule: the link has the capacity, so it stays central.
  assert.equal(lab.placement.frontEndPool.where, 'central');
  assert.equal(lab.wan.pool, 3_200);
  // The same site on a cheap link stays central.
  assert.equal(site(p, 'depot').placement.homeServer.where, 'central');
  // Centrally 2 home servers (20,000 / 10,000) and so a router; placed 2 + 1 = 3.
  assert.equal(p.allCentral.homeServers, 2);
  assert.equal(p.placed.homeServers, 3);
});

test('branch offices (≤ 100 users): a link that cannot carry them puts the home server at the branch; a costly link that can keeps it in the hub', () => {
  const p = placement({
    users: 5_000,
    sites: [
      { name: 'far', users: 100, linkKbps: 56 },
      { name: 'near', users: 40, linkKbps: 128, costly: true },
    ],
  });
  const far = site(p, 'far');
  const near = site(p, 'near');
  assert.equal(far.placement.homeServer.where, 'site');
  assert.equal(far.placement.homeServer.servers, 1);
  assert.equal(far.placement.homeServer.rule, GUIDANCE.branchOffices);
  assert.equal(near.placement.homeServer.where, 'central');
  assert.equal(near.placement.homeServer.rule, GUIDANCE.branchOffices);
  assert.match(near.placement.homeServer.why, /home server in the hub; put one at the branch instead if the branch administers it/);
  // One central home server would route for itself; a second one at the branch needs a router.
  assert.equal(p.allCentral.homeServers, 1);
  assert.equal(p.allCentral.routers, 0);
  assert.equal(p.placed.homeServers, 2);
  assert.equal(p.placed.routers, 1);
  assert.ok(p.notes.some((n) => /a separate router is needed/.test(n)));
  // One chat server hosts all 5,000: chat stays in one place.
  for (const s of p.sites) assert.equal(s.placement.chatServer.where, 'central');
  assert.match(far.placement.chatServer.why, /one server hosts everyone/);
});

test('routers stand at the site with the Internet connection', () => {
  const p = placement({
    users: 60_000,
    sites: [
      { name: 'hq', users: 30_000, linkKbps: 1_000_000, internet: true },
      { name: 'branch', users: 50, linkKbps: 128 },
    ],
  });
  assert.equal(p.routersAt, 'hq');
  assert.equal(site(p, 'hq').placement.router.where, 'site');
  assert.equal(site(p, 'hq').placement.router.servers, 2);
  assert.equal(site(p, 'branch').placement.router.where, 'central');
  assert.equal(site(p, 'branch').placement.router.rule, GUIDANCE.routersInternet);
  assert.equal(p.central.routers, 0);
  assert.equal(p.centralUsers, 60_000 - 30_050);
});

const LIMITS = '/work/shared/limits.md';

test('the guidance sentences are limits.md\'s, word for word', { skip: !existsSync(LIMITS) && 'limits.md (the shared notes) is not on this machine' }, () => {
  const text = readFileSync(LIMITS, 'utf8');
  for (const g of Object.values(GUIDANCE)) assert.ok(text.includes(`| ${g.text} |`), `${g.id} is not a row of limits.md: ${g.text}`);
});

test('--site attributes and the plan file schema: costly, internet, local=', () => {
  assert.deepEqual(parseSiteFlag('branch=50@128,costly'), { name: 'branch', users: 50, linkKbps: 128, costly: true });
  assert.deepEqual(parseSiteFlag('hq=70000@100000,internet'), { name: 'hq', users: 70_000, linkKbps: 100_000, internet: true });
  assert.deepEqual(parseSiteFlag('sales=900@256,costly,local=60%'), { name: 'sales', users: 900, linkKbps: 256, costly: true, contactsInSite: 0.6 });
  assert.deepEqual(parseSiteFlag('sales=900@256,local=0.25'), { name: 'sales', users: 900, linkKbps: 256, contactsInSite: 0.25 });
  assert.throws(() => parseSiteFlag('branch=50@128,cheap'), /unknown attribute "cheap"/);
  assert.throws(() => parseSiteFlag('branch=50@128,local=150%'), /local= must be a fraction/);
  const input = resolvePlanInput(undefined, { users: 1_000, site: ['a=50@128,costly', 'b=10@56'] });
  assert.deepEqual(input.sites, [
    { name: 'a', users: 50, linkKbps: 128, costly: true, internet: false },
    { name: 'b', users: 10, linkKbps: 56, costly: false, internet: false },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'imload-plan-sites-'));
  const path = join(dir, 'plan.yaml');
  writeFileSync(path, 'users: 1000\nsites:\n  - { name: a, users: 50, linkKbps: 128, costly: true, contactsInSite: 0.5 }\n');
  assert.deepEqual(resolvePlanInput(path, {}).sites, [{ name: 'a', users: 50, linkKbps: 128, costly: true, internet: false, contactsInSite: 0.5 }]);
  assert.throws(() => resolvePlanInput(undefined, { users: 1_000, site: ['a=50@128', 'a=10@56'] }), /site "a" is given twice/);
  assert.throws(() => resolvePlanInput(undefined, { users: 1_000, site: ['a=50@128,internet', 'b=10@56,internet'] }), /more than one site has the Internet connection/);
  // No sites: no placement.
  assert.equal(plan({ users: 1_000 }).placement, undefined);
});

test('the CLI prints the placement, the sentence behind each choice, and the WAN of each placement beside all-central', () => {
  const result = spawnSync(
    process.execPath,
    ['bin/imload.js', 'plan', '--users', '60000', '--site', 'plant=12000@1024,costly', '--site', 'branch=40@2048'],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stderr);
  const out = result.stdout;
  assert.match(out, /^Placement by site \(limits\.md § Placement guidance\)$/m);
  assert.match(out, /^ {2}plant +12,000 +1,024 +yes +2 at site +1 at site +1 at site +central *$/m);
  assert.match(out, /^ {2}branch +40 +2,048 +no +central +central +central +central *$/m);
  assert.match(out, /^ {2}central +47,960 +5 +1 +3 +2 *$/m);
  assert.match(out, /^ {2}plant home servers: 2 at site by \[home-densest\]: 12,000 users behind a slow and expensive link/m);
  assert.match(out, /^ {2}branch home servers: central by \[home-densest\]: the link is neither slow nor expensive/m);
  assert.ok(out.includes(`[home-densest] “${GUIDANCE.homeDensest.text}” [${GUIDANCE.homeDensest.source}]`));
  assert.match(out, /^ {2}plant +1,024 +19,200 NO +26,630\.7 NO +28,808\.3 NO +20 % \(share of users\)$/m);
  assert.match(out, /^ {2}branch +2,048 +64 +64 +64 +0\.1 % \(share of users\)$/m);
  assert.match(out, /^ {2}total +19,264 +26,694\.7 +28,872\.3$/m);
  assert.match(out, /^ {4}home servers {2}6 → 7$/m);
  assert.match(out, /^ {4}routers {7}2 → 2 \(at central\)$/m);

  const json = spawnSync(process.execPath, ['bin/imload.js', 'plan', '--users', '60000', '--site', 'plant=12000@1024,costly', '--json'], { encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as Plan;
  assert.equal(parsed.placement!.sites[0]!.placement.homeServer.rule.id, 'home-densest');
  assert.equal(parsed.placement!.placed.homeServers, 7);
});
