/**
 * Bulk provisioning seen by the real servers: accounts log in with their password (and not with
 * another), rosters come back over XMPP with every provisioned contact at subscription 'both',
 * and the servers' own tools count the accounts (ejabberdctl registered_users / get_roster,
 * prosodyctl shell user:list).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/lab/ports.js';
import { startForeground } from '../../src/lab/process.js';
import { startEjabberd } from '../../src/protocols/xmpp/lab-ejabberd.js';
import { ejabberdOnlineCount, ejabberdRegisteredUsers, ejabberdRoster } from '../../src/protocols/xmpp/ejabberd-node.js';
import { provisionAccounts, ringPopulation } from '../../src/protocols/xmpp/provision.js';
import { requireBinary } from '../helpers/require.js';
import { AuthFailed, miniLogin } from '../helpers/xmpp-mini-client.js';

const USERS = 2000;
const names = Array.from({ length: USERS }, (_, i) => `u${String(i + 1).padStart(6, '0')}`);
const password = (name: string) => `pw-${name}-é`;
/** u000001's ring neighbours: u000002..u000011 and u002000..u001991. */
const expectedContacts = (domain: string) =>
  [...names.slice(1, 11), ...names.slice(USERS - 10)].map((name) => `${name}@${domain}`).sort();

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('ejabberd: provisioned accounts log in, rosters are mutual, ejabberdctl counts them', async (t) => {
  if (!requireBinary(t, 'ejabberdctl', 'ejabberd')) return;
  const lab = await startEjabberd();
  try {
    const result = await provisionAccounts('ejabberd', lab, lab.domain, ringPopulation(names, password, 20));
    assert.equal(result.accounts, USERS);
    assert.equal(result.rosterItems, USERS * 20);

    const registered = await ejabberdRegisteredUsers(lab, lab.domain);
    assert.equal(registered.length, USERS);
    // The lab's own ejabberdctl script reaches the same node.
    const viaScript = await new Promise<string>((resolve, reject) =>
      execFile(lab.ctlScript, ['registered_users', lab.domain], { timeout: 20_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    assert.equal(viaScript.trim().split('\n').length, USERS);
    const roster = await ejabberdRoster(lab, 'u000001', lab.domain);
    assert.deepEqual(roster.map((item) => item.jid).sort(), expectedContacts(lab.domain));
    assert.ok(roster.every((item) => item.subscription === 'both'));

    assert.equal(await ejabberdOnlineCount(lab), 0);
    const session = await miniLogin(lab.port, lab.domain, 'u000001', password('u000001'));
    assert.deepEqual(session.roster.map((item) => item.jid).sort(), expectedContacts(lab.domain));
    assert.ok(session.roster.every((item) => item.subscription === 'both'));
    // The cross-check reads the server's own count: one session now, none after it ends.
    assert.equal(await ejabberdOnlineCount(lab), 1);
    await session.close();
    await until('connected_users_number 0', async () => (await ejabberdOnlineCount(lab)) === 0);

    const last = await miniLogin(lab.port, lab.domain, 'u002000', password('u002000'));
    assert.equal(last.roster.length, 20);
    await last.close();
    await assert.rejects(miniLogin(lab.port, lab.domain, 'u000002', 'wrong'), AuthFailed);
  } finally {
    await lab.stop();
  }
  // Stopped means gone: the node's process is reaped.
  assert.throws(() => process.kill(lab.pid, 0), /ESRCH/);
});

test('Prosody: provisioned files (plain and SCRAM passwords) log in, rosters are mutual, prosodyctl lists them', async (t) => {
  if (!requireBinary(t, 'prosody', 'prosody')) return;
  const dir = mkdtempSync(join(tmpdir(), 'imload-prosody-provision-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const domain = 'im.lab.test';
  const port = await freePort();
  const population = ringPopulation(names, password, 20);
  // Half plain, half SCRAM-SHA-1 (internal_hashed reads both).
  const plain = await provisionAccounts('prosody', data, domain, population.slice(0, USERS / 2));
  const scram = await provisionAccounts('prosody', data, domain, population.slice(USERS / 2), { passwordFormat: 'scram', iterations: 4096 });
  assert.equal(plain.accounts + scram.accounts, USERS);
  assert.equal(plain.rosterItems + scram.rosterItems, USERS * 20);
  const config = join(dir, 'prosody.cfg.lua');
  writeFileSync(
    config,
    `pidfile = "${dir}/prosody.pid"
data_path = "${data}"
admin_socket = "${dir}/admin.sock"
c2s_ports = { ${port} }
c2s_interfaces = { "127.0.0.1" }
interfaces = { "127.0.0.1" }
s2s_ports = { }
http_ports = { }
https_ports = { }
log = { { levels = { min = "warn" }, to = "file", filename = "${dir}/prosody.log" } }
modules_enabled = { "roster", "saslauth", "disco", "admin_shell" }
modules_disabled = { "s2s" }
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
run_as_root = true
VirtualHost "${domain}"
`,
  );
  const proc = startForeground('prosody', 'prosody', ['--config', config, '-F'], join(dir, 'stdout.log'));
  try {
    await until('Prosody c2s', async () => miniLogin(port, domain, 'nobody', 'x', 2000).then(() => true, (error) => error instanceof AuthFailed));
    for (const name of ['u000001', `u00${USERS}`]) {
      const session = await miniLogin(port, domain, name, password(name));
      assert.equal(session.roster.length, 20, name);
      assert.ok(session.roster.every((item) => item.subscription === 'both'), name);
      if (name === 'u000001') assert.deepEqual(session.roster.map((item) => item.jid).sort(), expectedContacts(domain));
      await session.close();
    }
    await assert.rejects(miniLogin(port, domain, 'u000002', 'wrong'), AuthFailed);
    await assert.rejects(miniLogin(port, domain, `u00${USERS}`, 'wrong'), AuthFailed);
    const listing = await new Promise<string>((resolve, reject) => {
      const child = execFile('prosodyctl', ['--config', config, 'shell'], { timeout: 20_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
      child.stdin!.end(`user:list("${domain}")\n`);
    });
    assert.match(listing, new RegExp(`Showing all ${USERS} users`));
  } finally {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
