/**
 * XMPP bulk provisioning (issue #18): N accounts with 20-contact mutual rosters into Prosody
 * (storage files, plain and SCRAM-SHA-1) and ejabberd (Mnesia bulk load into the running node;
 * optionally XEP-0227 `import_piefxis` for comparison). Prints accounts/s and checks the result
 * with the servers' own tools. Target: 20,000 accounts ready in under a minute.
 *
 *   node --import tsx bench/xmpp-provision.bench.ts [--users 20000] [--piefxis 2000]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEjabberd } from '../src/protocols/xmpp/lab-ejabberd.js';
import { ejabberdCtl, ejabberdRegisteredUsers, ejabberdRoster } from '../src/protocols/xmpp/ejabberd-node.js';
import { mutualContacts, provisionAccounts, ringPopulation } from '../src/protocols/xmpp/provision.js';

const { values } = parseArgs({ options: { users: { type: 'string' }, piefxis: { type: 'string' } } });
const users = Number(values.users ?? 20_000);
const piefxis = Number(values.piefxis ?? 0);
const names = Array.from({ length: users }, (_, i) => `u${String(i + 1).padStart(6, '0')}`);
const population = ringPopulation(names, (name) => `pw-${name}`, 20);
const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000))} accounts/s`;
console.log(`load average at start: ${readLoad()}`);

// Prosody: files, plain passwords (internal_plain, or internal_hashed upgrading at first login).
for (const passwordFormat of ['plain', 'scram'] as const) {
  const dir = mkdtempSync(join(tmpdir(), 'imload-bench-prosody-'));
  const result = await provisionAccounts('prosody', dir, 'localhost', population, { passwordFormat });
  console.log(`prosody ${passwordFormat}: ${result.accounts} accounts, ${result.rosterItems} roster items in ${result.ms} ms (${rate(result.accounts, result.ms)})`);
  rmSync(dir, { recursive: true, force: true });
}

// ejabberd: start, bulk load, check with ejabberdctl.
const started = Date.now();
const lab = await startEjabberd();
const startMs = Date.now() - started;
try {
  const result = await provisionAccounts('ejabberd', lab, lab.domain, population);
  const registered = (await ejabberdRegisteredUsers(lab, lab.domain)).length;
  const roster = await ejabberdRoster(lab, names[0]!, lab.domain);
  console.log(
    `ejabberd mnesia bulk: ${result.accounts} accounts, ${result.rosterItems} roster items in ${result.ms} ms (${rate(result.accounts, result.ms)}); ` +
      `start ${startMs} ms, start + provisioning ${startMs + result.ms} ms; ejabberdctl registered_users ${registered}, ` +
      `get_roster ${names[0]}: ${roster.length} items, ${roster.filter((r) => r.subscription === 'both').length} both`,
  );
} finally {
  await lab.stop();
}

// ejabberd XEP-0227 import (import_piefxis), for comparison.
if (piefxis > 0) {
  const other = await startEjabberd();
  try {
    const some = names.slice(0, piefxis);
    const lists = mutualContacts(some, 20);
    let xml = `<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='urn:xmpp:pie:0'>\n<host jid='${other.domain}'>\n`;
    some.forEach((name, i) => {
      xml += `<user name='${name}' password='pw-${name}'><query xmlns='jabber:iq:roster'>`;
      xml += lists[i]!.map((contact) => `<item jid='${contact}@${other.domain}' subscription='both'/>`).join('');
      xml += '</query></user>\n';
    });
    const file = join(other.dir, 'piefxis.xml');
    writeFileSync(file, `${xml}</host>\n</server-data>\n`);
    const t0 = Date.now();
    await ejabberdCtl(other, ['import_piefxis', file], 1_200_000);
    const ms = Date.now() - t0;
    const registered = (await ejabberdRegisteredUsers(other, other.domain)).length;
    console.log(`ejabberd import_piefxis (XEP-0227): ${piefxis} accounts in ${ms} ms (${rate(piefxis, ms)}); registered_users ${registered}`);
  } finally {
    await other.stop();
  }
}
console.log(`load average at end: ${readLoad()}`);

function readLoad(): string {
  try {
    return execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}
