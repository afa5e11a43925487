import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xmppOptions, xmppSettings } from '../../src/protocols/xmpp/options.js';
import { xmppDescriptor } from '../../src/protocols/xmpp/descriptor.js';
import { streamErrorKind } from '../../src/protocols/xmpp/conditions.js';
import { roomNode, showFor, stateFromShow } from '../../src/protocols/xmpp/user.js';
import { encodeStorageName, writeProsodyAccounts } from '../../src/protocols/xmpp/lab-prosody.js';

test('the options schema is strict: a misspelt option is refused by name', () => {
  assert.equal(xmppOptions.safeParse({ starttls: 'never', sasl: 'PLAIN' }).success, true);
  const typo = xmppOptions.safeParse({ startls: 'never' });
  assert.equal(typo.success, false);
  assert.match(JSON.stringify(typo.error?.issues), /startls/);
  assert.equal(xmppOptions.safeParse({ sasl: 'DIGEST-MD5' }).success, false);
  assert.equal(xmppDescriptor.options, xmppOptions);
});

test('settings: defaults, and keys a lab starter adds are tolerated', () => {
  const s = xmppSettings('it.test', { labOnlyKey: 1 });
  assert.equal(s.mucService, 'conference.it.test');
  assert.equal(s.starttls, 'auto');
  assert.equal(s.ackMessages, true);
  assert.throws(() => xmppSettings('it.test', { timeoutMs: -1 }), (e: Error & { kind?: string }) => e.kind === 'config-error' && /timeoutMs/.test(e.message));
});

test('descriptor: schemes, lab kinds; stream-error conditions in the taxonomy', () => {
  assert.deepEqual(xmppDescriptor.schemes.map((s) => [s.scheme, s.defaultPort, s.tls]), [['xmpp', 5222, false], ['xmpps', 5223, true]]);
  assert.deepEqual(xmppDescriptor.lab.map((l) => l.kind), ['prosody', 'ejabberd']);
  assert.equal(streamErrorKind('policy-violation'), 'throttled');
  assert.equal(streamErrorKind('not-authorized'), 'auth-failed');
  assert.equal(streamErrorKind('system-shutdown'), 'server-error');
  assert.equal(streamErrorKind('conflict'), 'protocol-error');
});

test('presence show values and room names', () => {
  assert.equal(stateFromShow(''), 'online');
  assert.equal(stateFromShow('chat'), 'online');
  assert.equal(stateFromShow('xa'), 'away');
  assert.equal(stateFromShow('dnd'), 'busy');
  for (const state of ['online', 'away', 'busy'] as const) assert.equal(stateFromShow(showFor(state)), state);
  assert.equal(roomNode('#Room-003'), 'room-003');
  assert.equal(roomNode('&a b@c'), 'a_b_c');
});

test('Prosody storage: file names encoded as its datamanager does; rosters with directional subscriptions', () => {
  assert.equal(encodeStorageName('it.test'), 'it%2etest');
  assert.equal(encodeStorageName('u000001'), 'u000001');
  const dir = mkdtempSync(join(tmpdir(), 'imload-xmpp-store-'));
  writeProsodyAccounts(dir, 'it.test', [
    { name: 'a', password: 'pw', contacts: ['b', 'c'] },
    { name: 'b', password: 'pw', contacts: ['a'] },
    { name: 'c', password: 'other', contacts: [] },
  ]);
  const roster = (user: string) => readFileSync(join(dir, 'it%2etest', 'roster', `${user}.dat`), 'utf8');
  assert.match(roster('a'), /\["b@it\.test"\] = \{\n\t\t\["subscription"\] = "both"/);
  assert.match(roster('a'), /\["c@it\.test"\] = \{\n\t\t\["subscription"\] = "to"/);
  assert.match(roster('c'), /\["a@it\.test"\] = \{\n\t\t\["subscription"\] = "from"/);
  const account = readFileSync(join(dir, 'it%2etest', 'accounts', 'a.dat'), 'utf8');
  assert.match(account, /\["stored_key"\] = "[0-9a-f]{40}"/);
  assert.match(account, /\["iteration_count"\] = 4096/);
  const other = readFileSync(join(dir, 'it%2etest', 'accounts', 'c.dat'), 'utf8');
  assert.notEqual(/stored_key"\] = "([0-9a-f]+)"/.exec(account)![1], /stored_key"\] = "([0-9a-f]+)"/.exec(other)![1]);
});
