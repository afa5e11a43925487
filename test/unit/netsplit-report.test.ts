/** The netsplit account's wording when something could not be measured: no events file, a link that never came back, servers that never relinked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetsplitReport } from '../../src/analysis/netsplit.js';
import { netsplitFacts } from '../../src/report/netsplits.js';

const MEASURED: NetsplitReport = {
  target: 'net/s1-s3',
  link: 's1-s3',
  servers: ['s3', 's6', 's7'],
  users: 300,
  populationUsers: 700,
  onlineAtCut: 299,
  cutAt: 90,
  linkBackAt: 110,
  relinkMs: 1840,
  window: { from: 90, to: 111.84 },
  heal: { users: 298, heard: 297, leftFirst: 1, notHeard: 0, p50Ms: 2100, p90Ms: 2900, maxMs: 4200, firstMs: 1900, allHeardMs: 4200 },
  lost: { total: 1, im: 1, channel: 0, examples: [] },
  refusedIms: 12,
};

const facts = (report: NetsplitReport) => Object.fromEntries(netsplitFacts(report).map((f) => [f.key, f.text]));

test('a measured netsplit: who, the window, the servers’ relink apart from the users’ heal, what was lost', () => {
  const f = facts(MEASURED);
  assert.equal(f['split-off'], 's3, s6, s7 behind link s1-s3, with 300 of 700 users (as the target spreads them), 299 of them online at the cut');
  assert.match(f.window!, /^cut at 90 s, link back at 110 s; a delivery across the split due from 90 s to 111\.8 s is lost to it/);
  assert.equal(f.relink, '1.84 s after the link’s return every server saw the whole network again (the servers’ own reconnect)');
  assert.match(f.heal!, /^every split-off user heard the other side again 4\.2 s after the link’s return \(297 of 298 online at the link’s return heard, 1 left before hearing; per user p50 2\.1 s, p90 2\.9 s, max 4\.2 s, first 1\.9 s\)/);
  assert.match(f.lost!, /^1 delivery \(1 IM, 0 channel\) between users on different sides; counted apart, not in messages\.lost/);
  assert.match(f.refused!, /^12 IMs refused/);
});

test('without the events file, with a link that never came back, with servers that never relinked: said, not guessed', () => {
  const noEvents = facts({ ...MEASURED, onlineAtCut: null, heal: null, lost: null, refusedIms: null });
  assert.match(noEvents['split-off']!, /spreads them\)$/);
  assert.match(noEvents.heal!, /^not measured: it is measured from the events file/);
  assert.match(noEvents.lost!, /until then any loss across the split is in messages\.lost/);
  assert.equal(noEvents.refused, undefined);
  const neverBack = facts({ ...MEASURED, linkBackAt: null, relinkMs: null, window: { from: 90, to: null }, heal: null });
  assert.match(neverBack.window!, /link back never \(the run ended first\); .* due from 90 s to the run’s end/);
  assert.equal(neverBack.relink, 'not before the run ended');
  assert.equal(neverBack.heal, 'not measured: the link never came back');
  const noRelink = facts({ ...MEASURED, relinkMs: null, heal: { ...MEASURED.heal!, heard: 290, notHeard: 7, allHeardMs: null } });
  assert.match(noRelink.relink!, /^not seen: .*\(losses after the link’s return are the server’s\)/);
  assert.match(noRelink.heal!, /^7 never heard from the other side before the run ended \(290 of 298/);
});
