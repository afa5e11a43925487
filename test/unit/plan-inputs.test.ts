/**
 * `imload plan` inputs and outputs: plan files with flags over them, measured capacities from a
 * run folder (used only when the run held its SLOs), and the text/HTML/JSON outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSiteFlag, resolvePlanInput } from '../../src/capacity/plan-input.js';
import { buildPlan } from '../../src/capacity/plan.js';
import { planCommand } from '../../src/commands/plan.js';
import { UserFacingError } from '../../src/exit-codes.js';

const dir = mkdtempSync(join(tmpdir(), 'imload-plan-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A run folder with just the summary.json fields the plan reads. */
function runDir(name: string, fields: { protocol: string; peakOnline: number; ok: boolean; kbps: number; timeScale?: number }): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  const summary = {
    target: { name: 't', url: 'x', protocol: fields.protocol },
    timeScale: fields.timeScale ?? 1,
    users: { requested: fields.peakOnline, peakOnline: fields.peakOnline },
    thresholds: [{ name: 'delivery.p99 < 2s', ok: fields.ok }],
    generator: { bottleneck: false, reasons: [] },
    end: { reason: 'completed' },
    bandwidth: { kbpsPerUser: fields.kbps, window: 'hold' },
  };
  writeFileSync(join(path, 'summary.json'), JSON.stringify(summary));
  return path;
}

test('a YAML plan file, with flags laid over it', () => {
  const path = file('plan.yaml', 'users: 40000\npeakOnlineFraction: 0.5\nsites:\n  - { name: hq, users: 30000, linkKbps: 100000 }\nworkload: { messagesPerHour: 3, contacts: 20 }\n');
  const fromFile = resolvePlanInput(path, {});
  assert.equal(fromFile.users, 40_000);
  assert.equal(fromFile.sites[0]!.name, 'hq');
  const overridden = resolvePlanInput(path, { users: 80_000, site: ['branch=50@128'], contacts: 40 });
  assert.equal(overridden.users, 80_000);
  assert.equal(overridden.peakOnlineFraction, 0.5);
  assert.deepEqual(overridden.sites, [{ name: 'branch', users: 50, linkKbps: 128 }]);
  assert.equal(overridden.workload.contacts, 40);
  assert.equal(overridden.workload.messagesPerHour, 3);
});

test('bad plan input says what is wrong', () => {
  assert.throws(() => parseSiteFlag('branch:100'), /expected name=users@kbps/);
  assert.throws(() => resolvePlanInput(undefined, {}), /how many users/);
  assert.throws(() => resolvePlanInput(undefined, { users: 100, site: ['a=80@56', 'b=30@56'] }), /the sites hold 110 users, more than the 100/);
  assert.throws(() => resolvePlanInput(file('bad.yaml', 'users: 10\npeakOnlineFraction: 2\n'), {}), /peakOnlineFraction/);
  assert.throws(() => planCommand({ file: join(dir, 'missing.yaml') }), (e: unknown) => e instanceof UserFacingError && e.exitCode === 2 && /file not found/.test(e.message));
});

test('a measured run that held its SLOs replaces its role’s documented capacity and the bandwidth, naming the run', () => {
  const run = runDir('held', { protocol: 'irc', peakOnline: 4_000, ok: true, kbps: 0.8 });
  const p = buildPlan(resolvePlanInput(undefined, { users: 250_000, peakOnline: 0.05, fromRun: [run], site: ['branch=100@56'] }));
  const chat = p.servers.find((s) => s.role === 'chat servers (IRC)')!;
  assert.equal(chat.servers, 4); // ceil(12,500 / 4,000)
  assert.ok(chat.from.kind === 'run' && chat.from.runDir === run && chat.from.metric === 'users.peakOnline');
  // The other roles keep their documented figures.
  assert.equal(p.servers[0]!.from.kind, 'profile');
  assert.equal(p.kbpsPerUser.value, 0.8);
  assert.ok(p.kbpsPerUser.from.kind === 'run' && p.kbpsPerUser.from.metric === 'bandwidth.kbpsPerUser');
  assert.equal(p.sites[0]!.kbps, 4); // 5 online × 0.8
});

test('a run whose SLOs broke is not a capacity: the documented figure stays and a note says why', () => {
  const run = runDir('broke', { protocol: 'rvp', peakOnline: 9_000, ok: false, kbps: 1.1 });
  const p = buildPlan(resolvePlanInput(undefined, { users: 20_000, fromRun: [run] }));
  assert.equal(p.servers[0]!.perServer, 10_000);
  assert.equal(p.servers[0]!.from.kind, 'profile');
  assert.ok(p.notes.some((n) => n.includes(run) && /not used as a capacity: SLOs broke/.test(n)));
});

test('text, JSON and HTML outputs carry every number with its source; the HTML escapes and marks a full link', () => {
  const text = planCommand({ users: 60_000, site: ['branch-<a>=100@56'] });
  assert.match(text, /IM routers \(RVP\)\s+2 {2}\(50,000 per server\)/);
  assert.match(text, /from exchange2000-im-router \/ users-per-router: “Each Instant Messaging router can support approximately 50,000 online users\.”/);
  assert.match(text, /branch-<a>.*NO/);
  const json = JSON.parse(planCommand({ users: 60_000, json: true })) as { peakOnline: number; servers: Array<{ from: { kind: string } }> };
  assert.equal(json.peakOnline, 60_000);
  assert.ok(json.servers.every((s) => ['profile', 'run'].includes(s.from.kind)));
  const html = planCommand({ users: 60_000, site: ['branch-<a>=100@56'], html: true });
  assert.ok(html.includes('branch-&lt;a&gt;'));
  assert.ok(!html.includes('branch-<a>'));
  assert.match(html, /<tr class="bad"><td>branch-&lt;a&gt;/);
  assert.match(html, /users-per-home-server/);
});
