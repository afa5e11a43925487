/**
 * The plan's HTML fragment (`imload plan --html`) with sites, opened in headless Chromium: what a
 * person reads in the placement and WAN tables equals the plan's JSON for the same input, the
 * guidance sentences are shown with their sources, and a link the placement still overfills is
 * marked. The fragment comes from the real CLI.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { which } from '../../src/lab/process.js';
import type { Plan } from '../../src/capacity/plan.js';
import { GUIDANCE } from '../../src/capacity/plan-sites.js';

const ARGS = ['plan', '--users', '60000', '--site', 'plant=12000@1024,costly', '--site', 'branch=40@2048', '--site', 'hq=30000@1000000,internet'];
const skip = !which('chromium') && !process.env.CI ? 'chromium not installed (imload lab install)' : false;

let browser: Browser | undefined;
let page: Page;
let plan: Plan;

function cli(extra: string[]): string {
  const result = spawnSync(process.execPath, ['bin/imload.js', ...ARGS, ...extra], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

before(async () => {
  if (skip) return;
  plan = JSON.parse(cli(['--json'])) as Plan;
  const dir = mkdtempSync(join(tmpdir(), 'imload-plan-html-'));
  const file = join(dir, 'plan.html');
  writeFileSync(file, `<!doctype html><html><head><meta charset="utf-8"><title>plan</title></head><body>${cli(['--html'])}</body></html>`);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`file://${file}`);
}, { timeout: 60_000 });
after(async () => browser?.close());

const cells = async (selector: string) => (await page.locator(selector).allInnerTexts()).map((row) => row.split('\t').map((c) => c.trim()));

test('the placement table shows, per site, where each role goes, and what stays central', { skip }, async () => {
  const rows = await cells('table.plan-placement tbody tr');
  const p = plan.placement!;
  assert.equal(rows.length, p.sites.length + 1);
  assert.deepEqual(rows[0], ['plant', '12,000', '1,024', 'yes', '2 at site', '1 at site', '1 at site', 'central']);
  assert.deepEqual(rows[1], ['branch', '40', '2,048', 'no', 'central', 'central', 'central', 'central']);
  assert.deepEqual(rows[2], ['hq', '30,000', '1,000,000', 'no', 'central', 'central', 'central', `${p.placed.routers} at site`]);
  assert.deepEqual(rows[3], ['central', (60_000 - 42_040).toLocaleString('en'), '', '', String(p.central.homeServers), String(p.central.pools), String(p.central.chatServers), '0']);
  // The cell's title names the rule; the list below gives the sentence with its numbers.
  assert.equal(await page.locator('table.plan-placement tbody tr').first().locator('td').nth(4).getAttribute('title'), 'home-densest');
  const why = await page.locator('ul.placement-why').innerText();
  assert.ok(why.includes(`plant home servers: 2 at site — [home-densest] ${p.sites[0]!.placement.homeServer.why}`), why);
  const guidance = await page.locator('ul.placement-guidance').innerText();
  for (const g of [GUIDANCE.homeDensest, GUIDANCE.lcsCentral, GUIDANCE.chatHubs, GUIDANCE.routersInternet]) {
    assert.ok(guidance.includes(`[${g.id}] “${g.text}” [${g.source}]`), `${g.id} quoted: ${guidance}`);
  }
});

test('the WAN table equals the JSON, marks the links a placement overfills, and totals the placements', { skip }, async () => {
  const rows = await cells('table.plan-wan tbody tr');
  const fmt = (v: number) => v.toLocaleString('en', { maximumFractionDigits: 1 });
  const p = plan.placement!;
  p.sites.forEach((s, i) => {
    const mark = (kbps: number, carries: boolean) => `${fmt(kbps)}${carries ? '' : ' no'}`;
    assert.deepEqual(rows[i], [s.name, fmt(s.linkKbps), mark(s.wan.allCentral, s.carries.allCentral), mark(s.wan.homeServers, s.carries.homeServers), mark(s.wan.pool, s.carries.pool), `${fmt(s.contactsInSite * 100)} %`]);
  });
  assert.deepEqual(rows[0]!.slice(2, 5), ['19,200 no', '26,630.7 no', '28,808.3 no']);
  assert.deepEqual(rows.at(-1), ['total', '', fmt(p.allCentral.wanKbps.homeServers), fmt(p.placed.wanKbps.homeServers), fmt(p.placed.wanKbps.pool), '']);
  const overfilled = await page.locator('table.plan-wan td.bad').count();
  assert.equal(overfilled, 3, 'the plant link, in all three placements');
  const text = await page.locator('div.plan').innerText();
  assert.ok(text.includes(`home servers ${p.allCentral.homeServers} → ${p.placed.homeServers}; routers ${p.allCentral.routers} → ${p.placed.routers} (at hq)`), text);
});
