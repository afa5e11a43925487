/** Provisioning inputs and Prosody's storage files, without a server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mutualContacts, prosodyEncode, provisionAccounts, ProvisionError, ringPopulation, scramSha1Keys } from '../../src/protocols/xmpp/provision.js';

test('mutualContacts: every relation is mutual, no self, perUser each', () => {
  const names = Array.from({ length: 101 }, (_, i) => `u${i}`);
  const lists = mutualContacts(names, 20);
  const index = new Map(names.map((name, i) => [name, i]));
  lists.forEach((contacts, i) => {
    assert.equal(new Set(contacts).size, 20);
    assert.ok(!contacts.includes(names[i]!));
    for (const contact of contacts) assert.ok(lists[index.get(contact)!]!.includes(names[i]!), `${names[i]} -> ${contact} not mutual`);
  });
  // Fewer users than contacts: everyone knows everyone else (rounded down to an even count).
  assert.deepEqual(mutualContacts(['a', 'b', 'c'], 20).map((l) => l.sort()), [['b', 'c'], ['a', 'c'], ['a', 'b']]);
  assert.deepEqual(mutualContacts(['a'], 20), [[]]);
});

test('prosodyEncode follows util/datamanager.lua (non-alphanumerics as %xx)', () => {
  assert.equal(prosodyEncode('localhost'), 'localhost');
  assert.equal(prosodyEncode('im.example.com'), 'im%2eexample%2ecom');
  assert.equal(prosodyEncode('u_1-x'), 'u%5f1%2dx');
  assert.equal(prosodyEncode('é'), '%c3%a9');
});

test('Prosody files: accounts and rosters as Lua tables, names lower-cased, 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-prov-unit-'));
  try {
    const users = ringPopulation(['Alice', 'bob', 'carol'], (name) => `p"w\\${name}é`, 20);
    const result = await provisionAccounts('prosody', dir, 'Lab.Test', users);
    assert.deepEqual([result.accounts, result.rosterItems, result.method], [3, 6, 'prosody-files-plain']);
    const host = join(dir, 'lab%2etest');
    assert.deepEqual(readdirSync(join(host, 'accounts')).sort(), ['alice.dat', 'bob.dat', 'carol.dat']);
    assert.equal(readFileSync(join(host, 'accounts', 'alice.dat'), 'utf8'), 'return {\n\t["password"] = "p\\"w\\\\Alice\\195\\169";\n};\n');
    const roster = readFileSync(join(host, 'roster', 'bob.dat'), 'utf8');
    assert.match(roster, /\[false\] = \{\n\t\t\["version"\] = 1;\n\t\t\["pending"\] = \{\};/);
    assert.match(roster, /\["alice@lab\.test"\] = \{\n\t\t\["groups"\] = \{\};\n\t\t\["subscription"\] = "both";/);
    assert.match(roster, /\["carol@lab\.test"\]/);
    assert.equal(statSync(join(host, 'roster', 'bob.dat')).mode & 0o777, 0o600);

    await provisionAccounts('prosody', dir, 'lab.test', [{ name: 'dave', password: 'pencil', contacts: [] }], { passwordFormat: 'scram', iterations: 4096 });
    const account = readFileSync(join(host, 'accounts', 'dave.dat'), 'utf8');
    const salt = /\["salt"\] = "([0-9a-f]+)"/.exec(account)![1]!;
    const keys = scramSha1Keys('pencil', salt, 4096);
    assert.ok(account.includes(`["stored_key"] = "${keys.storedKey}"`));
    assert.ok(account.includes(`["server_key"] = "${keys.serverKey}"`));
    assert.ok(account.includes('["iteration_count"] = 4096'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('subscriptions follow the lists: both when mutual, to/from when one-sided, both for contacts outside the call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-prov-unit-'));
  try {
    const users = [
      { name: 'a', password: 'x', contacts: ['b', 'c', 'zed@other.test'] },
      { name: 'b', password: 'x', contacts: ['a'] },
      { name: 'c', password: 'x', contacts: ['outside'] },
    ];
    const result = await provisionAccounts('prosody', dir, 'lab.test', users);
    // a: b both, c to, zed both; b: a both; c: a from, outside both.
    assert.equal(result.rosterItems, 6);
    const roster = (name: string) => readFileSync(join(dir, 'lab%2etest', 'roster', `${name}.dat`), 'utf8');
    const sub = (text: string, jid: string) => new RegExp(`\\["${jid.replace(/\./g, '\\.')}"\\] = \\{\\n\\t\\t\\["groups"\\] = \\{\\};\\n\\t\\t\\["subscription"\\] = "(\\w+)"`).exec(text)?.[1];
    assert.equal(sub(roster('a'), 'b@lab.test'), 'both');
    assert.equal(sub(roster('a'), 'c@lab.test'), 'to');
    assert.equal(sub(roster('a'), 'zed@other.test'), 'both');
    assert.equal(sub(roster('b'), 'a@lab.test'), 'both');
    assert.equal(sub(roster('c'), 'a@lab.test'), 'from');
    assert.equal(sub(roster('c'), 'outside@lab.test'), 'both');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scram with a shared salt: one salt, the same keys for the same password', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-prov-unit-'));
  try {
    await provisionAccounts('prosody', dir, 'lab.test', [{ name: 'a', password: 'p', contacts: [] }, { name: 'b', password: 'p', contacts: [] }], {
      passwordFormat: 'scram',
      salt: 'lab-salt',
      iterations: 4096,
    });
    const a = readFileSync(join(dir, 'lab%2etest', 'accounts', 'a.dat'), 'utf8');
    assert.equal(a, readFileSync(join(dir, 'lab%2etest', 'accounts', 'b.dat'), 'utf8'));
    assert.ok(a.includes('["salt"] = "lab-salt"'));
    assert.ok(a.includes(`["stored_key"] = "${scramSha1Keys('p', 'lab-salt', 4096).storedKey}"`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scramSha1Keys matches RFC 5802 (user/pencil, 4096 iterations)', () => {
  // RFC 5802 § 5: salt base64 "QSXCR+Q6sek8bf92", 4096 iterations; the server's final message
  // carries v=rmF9pqV8S7suAoZWja4dJRkFsKQ=, which only the right ServerKey reproduces.
  const salt = Buffer.from('QSXCR+Q6sek8bf92', 'base64');
  const keys = scramSha1Keys('pencil', salt, 4096);
  // ServerKey = HMAC(SaltedPassword, "Server Key"); ServerSignature = HMAC(ServerKey, AuthMessage).
  const authMessage =
    'n=user,r=fyko+d2lbbFgONRv9qkxdawL,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j';
  const signature = createHmac('sha1', Buffer.from(keys.serverKey, 'hex')).update(authMessage).digest('base64');
  assert.equal(signature, 'rmF9pqV8S7suAoZWja4dJRkFsKQ=');
});

test('provisionAccounts refuses names it cannot store and a wrong handle', async () => {
  await assert.rejects(provisionAccounts('prosody', '/nonexistent', 'lab.test', [{ name: 'a b', password: 'x', contacts: [] }]), ProvisionError);
  await assert.rejects(provisionAccounts('prosody', '/nonexistent', 'lab.test', [{ name: 'a', password: 'x', contacts: ['b@c@d'] }]), ProvisionError);
  await assert.rejects(provisionAccounts('prosody', '/nonexistent', 'not a domain', []), ProvisionError);
  await assert.rejects(provisionAccounts('ejabberd', '/some/dir', 'lab.test', []), ProvisionError);
});
