/**
 * `imload plan --lab` (#19 item 3): a three-site company — 50 users at a plant on a slow, costly
 * link (the plan gives it its own home server), 50 at a branch on a fast one (served centrally),
 * 50 at the central data centre — built in network namespaces with tbf-shaped links, the RVP
 * reference servers where the plan puts them (a home at the plant, a home and the router
 * central), one session of the plan's workload per user. Each link's measured TCP payload must
 * be within 10 % of the plan's prediction, run through the real CLI.
 *
 * The branch link carries everything its users' clients exchange: the kernel's count must match
 * what the clients counted themselves. The plant's link carries only the exchanges with contacts
 * elsewhere, but both ways: with two thirds of its contacts elsewhere, more than its clients'
 * own traffic (the plan's model says a local home server pays off above 42 % local contacts).
 *
 * Needs root; skipped only when neither root nor CI (CI runs as root and must run it). Without
 * root the command refuses with exit 5, which is checked as an unprivileged user when we are root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlanLabResult } from '../../src/capacity/plan-lab.js';

const PLAN = ['plan', '--users', '150', '--site', 'plant=50@64,costly', '--site', 'branch=50@512', '--contacts', '10'];

function namespaces(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5000 });
}

test('a three-site plan in network namespaces: each shaped link carries the predicted traffic within 10 %', { timeout: 240_000 }, (t) => {
  if (process.getuid?.() !== 0 && !process.env.CI) {
    t.skip('needs root to create network namespaces and shape links (CI runs it as root)');
    return;
  }
  const before = namespaces();
  const out = mkdtempSync(join(tmpdir(), 'imload-plan-lab-'));
  // One lab run (CI time is short): the text on stdout as a person reads it, the JSON beside the runs.
  const run = spawnSync(process.execPath, ['bin/imload.js', ...PLAN, '--lab', '--lab-out', out], { encoding: 'utf8', timeout: 200_000 });
  assert.ok(run.status === 0 || run.status === 99, `the lab ran (exit ${run.status}): ${run.stderr}`);
  const result = JSON.parse(readFileSync(join(out, 'plan-lab.json'), 'utf8')) as PlanLabResult;
  const link = (site: string) => result.links.find((l) => l.site === site)!;
  const plant = link('plant');
  const branch = link('branch');
  assert.equal(plant.home, 'site', 'the plan gives the plant its own home server');
  assert.equal(branch.home, 'central');
  assert.equal(result.design.routerAt, 'central', 'two home servers: a router, central');
  assert.deepEqual(result.design.groups.map((g) => [g.name, g.users]), [['plant', 50], ['branch', 50], ['central', 50]]);

  for (const l of result.links) {
    assert.ok(l.predictedBytes > 1e6, `${l.site}: a prediction worth measuring (${l.predictedBytes} bytes)`);
    assert.ok(l.payloadBytes > 0 && l.payloadBytes < l.wireBytes, `${l.site}: headers come off the wire count`);
    assert.ok(Math.abs(l.ratio - 1) <= 0.1, `${l.site}: measured ${l.payloadBytes} bytes, predicted ${l.predictedBytes} (ratio ${l.ratio.toFixed(3)})`);
    assert.equal(l.verdict, 'agrees');
  }
  assert.equal(run.status, 0, 'exit 0 when every link agrees');
  assert.equal(result.ok, true);
  // The branch's clients talk only across their link: the kernel saw what they counted.
  assert.ok(Math.abs(branch.payloadBytes / branch.clientBytes - 1) < 0.02, `branch link ${branch.payloadBytes} bytes, its clients counted ${branch.clientBytes}`);
  // The plant's logons, own presence changes and deliveries stay on its LAN, but with two thirds
  // of its contacts elsewhere the exchanges with them, crossing both ways, are more than all its
  // clients' own traffic — what the link would carry with the home server central.
  assert.ok(plant.payloadBytes > plant.clientBytes, `plant link ${plant.payloadBytes} bytes, its clients counted ${plant.clientBytes}`);
  assert.equal(namespaces(), before, 'every namespace the lab made was deleted');

  const rowOf = (site: string) => new RegExp(`^ {2}${site} +(at the site|central) +50 +[\\d.]+ Mbit/s +[\\d.,]+ +[\\d.,]+ +[\\d.]+ +[\\d.,]+ \\(headers [\\d.]+ %\\) +agrees \\(within 10 %\\)$`, 'm');
  assert.match(run.stdout, rowOf('plant'));
  assert.match(run.stdout, rowOf('branch'));
  assert.match(run.stdout, /Every link's measured traffic is within 10 % of the plan's prediction\./);
});

test('without root, plan --lab refuses with exit 5 and says why; a plan without sites is bad input', (t) => {
  if (process.getuid?.() !== 0) {
    const run = spawnSync(process.execPath, ['bin/imload.js', ...PLAN, '--lab'], { encoding: 'utf8' });
    assert.equal(run.status, 5);
    assert.match(run.stderr, /needs root \(CAP_NET_ADMIN\) to build network namespaces/);
    return;
  }
  const asNobody = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, 'bin/imload.js', ...PLAN, '--lab'], { encoding: 'utf8' });
  if (asNobody.error) {
    t.skip(`setpriv is not available to drop root: ${asNobody.error.message}`);
    return;
  }
  assert.equal(asNobody.status, 5, asNobody.stderr);
  assert.match(asNobody.stderr, /^imload: plan --lab needs root \(CAP_NET_ADMIN\) to build network namespaces and shape links/m);
  assert.doesNotMatch(asNobody.stderr, /\n\s+at /, 'no stack trace');
  const noSites = spawnSync(process.execPath, ['bin/imload.js', 'plan', '--users', '150', '--lab'], { encoding: 'utf8' });
  assert.equal(noSites.status, 2);
  assert.match(noSites.stderr, /--lab needs sites/);
});
