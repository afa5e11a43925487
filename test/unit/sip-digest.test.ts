import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DigestChallengeError,
  DigestSession,
  digestResponse,
  parseDigestChallenge,
  type DigestChallenge,
} from '../../src/protocols/sip/digest.js';

// RFC 2617 § 3.5 example.
const RFC2617: DigestChallenge = {
  realm: 'testrealm@host.com',
  nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
  opaque: '5ccc069c403ebaf9f0171e9517f40e41',
  algorithm: 'MD5',
  qop: 'auth',
  stale: false,
};

test('RFC 2617 § 3.5 request-digest vector', () => {
  const response = digestResponse(RFC2617, {
    username: 'Mufasa',
    password: 'Circle Of Life',
    method: 'GET',
    uri: '/dir/index.html',
    nc: 1,
    cnonce: '0a4f113b',
  });
  assert.equal(response, '6629fae49393a05397450978507c4ef1');
});

test('challenge parsing: quoted commas, qop list, stale, unsupported schemes', () => {
  const parsed = parseDigestChallenge(
    'Digest realm="lab.test", nonce="abc,def", qop="auth,auth-int", opaque="o", algorithm=MD5, stale=TRUE',
  );
  assert.ok(!(parsed instanceof DigestChallengeError));
  assert.equal(parsed.nonce, 'abc,def');
  assert.equal(parsed.qop, 'auth');
  assert.equal(parsed.stale, true);
  assert.equal(parsed.opaque, 'o');
  assert.ok(parseDigestChallenge('Basic realm="x"') instanceof DigestChallengeError);
  assert.ok(parseDigestChallenge('Digest realm="x", nonce="n", algorithm=SHA-512-256') instanceof DigestChallengeError);
  assert.ok(parseDigestChallenge('Digest realm="x"') instanceof DigestChallengeError);
});

test('a session reuses the nonce with an increasing nonce count, and restarts nc on a new nonce', () => {
  const session = new DigestSession('u1', 'pw');
  assert.equal(session.credentialsFor('MESSAGE', 'sip:u2@lab.test'), undefined);
  session.accept({ ...RFC2617, realm: 'lab.test' });
  assert.match(session.credentialsFor('MESSAGE', 'sip:u2@lab.test')!, /nc=00000001/);
  const second = session.credentialsFor('MESSAGE', 'sip:u3@lab.test')!;
  assert.match(second, /nc=00000002/);
  assert.match(second, /username="u1", realm="lab.test"/);
  assert.match(second, /qop=auth,/);
  session.accept({ ...RFC2617, nonce: 'fresh' });
  assert.match(session.credentialsFor('MESSAGE', 'sip:u2@lab.test')!, /nonce="fresh".*nc=00000001/);
});

test('RFC 2069 mode (no qop) omits nc and cnonce', () => {
  const session = new DigestSession('u1', 'pw');
  session.accept({ ...RFC2617, qop: undefined, opaque: undefined });
  const credentials = session.credentialsFor('REGISTER', 'sip:lab.test')!;
  assert.doesNotMatch(credentials, /nc=|cnonce=|qop=/);
});
