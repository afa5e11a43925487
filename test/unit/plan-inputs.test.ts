/**
 * `imload plan` inputs and outputs: plan files with flags over them, measured capacities from a
 * run folder (only from a run that measured one: docs/capacity.md), and the text/HTML/JSON outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

type UsersVerdict = { verdict: 'met' | 'missed' | 'not-reached' | 'inconclusive'; value: number; at?: number; reason?: string };

/** A run folder with just the summary.json fields the plan reads. */
function runDir(
  name: string,
  fields: {
    protocol: string;
    peakOnline: number;
    ok: boolean;
    kbps: number;
    timeScale?: number;
    normalisedKbps?: number;
    users?: UsersVerdict;
    stepSearch?: { sustainable: number | null; brokeAt: number | null; gaveOut: string | null };
  },
): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  const summary = {
    target: { name: 't', url: 'x', protocol: fields.protocol },
    timeScale: fields.timeScale ?? 1,
    users: { requested: fields.peakOnline, peakOnline: fields.peakOnline },
    thresholds: [{ name: 'delivery.p99 < 2s', ok: fields.ok }],
    generator: { bottleneck: false, reasons: [] },
    end: { reason: 'completed' },
    bandwidth: {
      kbpsPerUser: fields.kbps,
      window: 'hold',
      normalised: fields.normalisedKbps === undefined ? null : { kbpsPerUser: fields.normalisedKbps, method: 'synthetic', modelScale: 1 },
    },
    limits: fields.users
      ? { profile: 'p', title: 'p', version: '1', verdicts: [{ id: 'users-per-server', metric: 'users.peakOnline', kind: 'atLeast', unit: 'concurrent users', measured: fields.peakOnline, reason: fields.users.reason ?? 'synthetic', ...fields.users }] }
      : null,
    stepSearch: fields.stepSearch ? { steps: [], reason: 'synthetic search', ...fields.stepSearch } : null,
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
  assert.deepEqual(overridden.sites, [{ name: 'branch', users: 50, linkKbps: 128, costly: false, internet: false }]);
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

test('a step search\'s knee replaces its role\'s documented capacity, and the run\'s bandwidth is used, naming the run', () => {
  const run = runDir('knee', { protocol: 'irc', peakOnline: 5_000, ok: false, kbps: 0.8, stepSearch: { sustainable: 4_000, brokeAt: 5_000, gaveOut: 'server latency' } });
  const p = buildPlan(resolvePlanInput(undefined, { users: 250_000, peakOnline: 0.05, fromRun: [run], site: ['branch=100@56'] }));
  const chat = p.servers.find((s) => s.role === 'chat servers (IRC)')!;
  assert.equal(chat.servers, 4); // ceil(12,500 / 4,000)
  assert.ok(chat.from.kind === 'run' && chat.from.runDir === run && chat.from.metric === 'stepSearch.sustainable');
  // The other roles keep their documented figures.
  assert.equal(p.servers[0]!.from.kind, 'profile');
  assert.equal(p.kbpsPerUser.value, 0.8);
  assert.ok(p.kbpsPerUser.from.kind === 'run' && p.kbpsPerUser.from.metric === 'bandwidth.kbpsPerUser');
  assert.equal(p.sites[0]!.kbps, 4); // 5 online × 0.8
});

test('"missed at N" with a healthy generator and host is a capacity; "met" confirms the documented figure', () => {
  const missed = runDir('missed', { protocol: 'rvp', peakOnline: 9_000, ok: false, kbps: 1.1, users: { verdict: 'missed', value: 10_000, at: 7_500 } });
  const p = buildPlan(resolvePlanInput(undefined, { users: 20_000, fromRun: [missed] }));
  assert.equal(p.servers[0]!.perServer, 7_500);
  assert.ok(p.servers[0]!.from.kind === 'run' && /missed at/.test(p.servers[0]!.from.metric));
  const met = runDir('met', { protocol: 'rvp', peakOnline: 10_400, ok: true, kbps: 1.1, users: { verdict: 'met', value: 10_000 } });
  const q = buildPlan(resolvePlanInput(undefined, { users: 20_000, fromRun: [met] }));
  assert.equal(q.servers[0]!.perServer, 10_000, 'the documented figure, not the 10,400 the run happened to hold');
  assert.ok(q.servers[0]!.from.kind === 'run' && /confirms the documented figure/.test(q.servers[0]!.from.note));
});

test('a run that measured no capacity is refused (exit 2, saying why): a demo, an inconclusive verdict, a search the generator ended', () => {
  const refusals: Array<[string, Parameters<typeof runDir>[1], RegExp]> = [
    ['demo', { protocol: 'irc', peakOnline: 150, ok: true, kbps: 6.5, users: { verdict: 'not-reached', value: 20_000, reason: 'the scenario asked for 150 users, fewer than 20000.' } }, /verdict users-per-server is not reached: the scenario asked for 150 users.*the load it asked for, not the server's capacity/],
    ['no-profile', { protocol: 'irc', peakOnline: 150, ok: true, kbps: 6.5 }, /names no limit profile and searched no steps/],
    ['saturated', { protocol: 'irc', peakOnline: 1_600, ok: false, kbps: 1, users: { verdict: 'inconclusive', value: 20_000, reason: 'host CPU at 99 % of 2 cores' } }, /inconclusive: host CPU at 99 %/],
    ['generator', { protocol: 'irc', peakOnline: 3_000, ok: false, kbps: 1, stepSearch: { sustainable: 2_000, brokeAt: 3_000, gaveOut: 'generator' } }, /load generator gave out/],
    ['saturated-search', { protocol: 'irc', peakOnline: 3_000, ok: false, kbps: 1, stepSearch: { sustainable: 2_000, brokeAt: 3_000, gaveOut: 'saturated' } }, /broke while the host or a worker was saturated/],
  ];
  for (const [name, fields, why] of refusals) {
    const run = runDir(name, fields);
    assert.throws(
      () => planCommand({ users: 20_000, fromRun: [run] }),
      (e: unknown) => e instanceof UserFacingError && e.exitCode === 2 && e.message.includes(`${run} measured no server capacity`) && why.test(e.message),
      name,
    );
  }
});

test('a compressed-time run lends its normalised real-time bandwidth, never its wall-clock figure', () => {
  const run = runDir('scaled', { protocol: 'irc', peakOnline: 5_000, ok: false, kbps: 6.52, timeScale: 180, normalisedKbps: 0.036, stepSearch: { sustainable: 4_000, brokeAt: 5_000, gaveOut: 'server latency' } });
  const p = buildPlan(resolvePlanInput(undefined, { users: 100_000, fromRun: [run] }));
  assert.equal(p.kbpsPerUser.value, 0.036);
  assert.ok(p.kbpsPerUser.from.kind === 'run' && /normalised from timeScale 180 \(wall-clock 6.52 kbit\/s/.test(p.kbpsPerUser.from.note));
  const unnormalised = runDir('scaled-old', { protocol: 'irc', peakOnline: 5_000, ok: false, kbps: 6.52, timeScale: 180, stepSearch: { sustainable: 4_000, brokeAt: 5_000, gaveOut: 'server latency' } });
  const q = buildPlan(resolvePlanInput(undefined, { users: 100_000, fromRun: [unnormalised] }));
  assert.equal(q.kbpsPerUser.value, 1.6, 'the documented figure, not 6.52 wall-clock');
  assert.ok(q.notes.some((n) => /not comparable with a real-time one/.test(n)));
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

test('as a person runs it: `imload plan --users 20000 --from-run <demo>` exits 2 with the reason, no stack trace', () => {
  const demo = runDir('cli-demo', { protocol: 'irc', peakOnline: 150, ok: true, kbps: 6.5, timeScale: 180, normalisedKbps: 0.036, users: { verdict: 'not-reached', value: 20_000, reason: 'the scenario asked for 150 users, fewer than 20000.' } });
  const result = spawnSync(process.execPath, ['bin/imload.js', 'plan', '--users', '20000', '--from-run', demo], { encoding: 'utf8' });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /measured no server capacity: its verdict users-per-server is not reached/);
  assert.match(result.stderr, /plan without --from-run to use the documented figure/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(result.stdout, /150 per server/);
});
