import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScramClient, chooseMechanism, plainMessage } from '../../src/protocols/xmpp/sasl.js';

test('SCRAM-SHA-1: the RFC 5802 § 5 example exchange', () => {
  const client = new ScramClient('SCRAM-SHA-1', 'user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL');
  assert.equal(client.first(), 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
  const final = client.final('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
  assert.equal(final, 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
  client.verify('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
  assert.throws(() => client.verify('v=AAAApqV8S7suAoZWja4dJRkFsKQ='), /does not verify/);
  assert.throws(() => client.verify('e=invalid-proof'), /invalid-proof/);
});

test('SCRAM-SHA-256: the RFC 7677 § 3 example exchange', () => {
  const client = new ScramClient('SCRAM-SHA-256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
  assert.equal(client.first(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  const final = client.final('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
  assert.equal(final, 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
  client.verify('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
});

test('SCRAM refuses a server nonce that does not extend the client nonce, and an extension', () => {
  const client = new ScramClient('SCRAM-SHA-1', 'user', 'pencil', 'abc');
  assert.throws(() => client.final('r=xyz123,s=QSXCR+Q6sek8bf92,i=4096'), /nonce/);
  assert.throws(() => client.final('r=abc,s=QSXCR+Q6sek8bf92,i=4096'), /nonce/);
  assert.throws(() => client.final('m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096'), /extension/);
  assert.throws(() => client.final('r=abcdef,s=QSXCR+Q6sek8bf92,i=x'), /malformed/);
});

test('SCRAM escapes = and , in the user name (RFC 5802 § 5.1)', () => {
  assert.equal(new ScramClient('SCRAM-SHA-1', 'a=b,c', 'p', 'n1').first(), 'n,,n=a=3Db=2Cc,r=n1');
});

test('PLAIN is authzid NUL authcid NUL password, base64 (RFC 4616)', () => {
  assert.equal(Buffer.from(plainMessage('tim', 'tanstaaftanstaaf'), 'base64').toString(), '\0tim\0tanstaaftanstaaf');
});

test('mechanism choice: the strongest offered, or exactly the one asked for', () => {
  assert.equal(chooseMechanism(['PLAIN', 'SCRAM-SHA-1'], 'auto'), 'SCRAM-SHA-1');
  assert.equal(chooseMechanism(['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256'], 'auto'), 'SCRAM-SHA-256');
  assert.equal(chooseMechanism(['PLAIN', 'SCRAM-SHA-1'], 'PLAIN'), 'PLAIN');
  assert.equal(chooseMechanism(['SCRAM-SHA-1'], 'PLAIN'), undefined);
  assert.equal(chooseMechanism(['DIGEST-MD5'], 'auto'), undefined);
});
