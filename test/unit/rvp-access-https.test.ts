/**
 * RVP over HTTPS (rvps://): our server with a certificate from a CA made for the test, the agent
 * verifying it. Users log on with Digest and exchange an IM; without the CA the logon fails as
 * `tls-error` naming the endpoint; with `insecure` it works; a plain-HTTP client gets nowhere.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRvpServer, type RvpServerHandle } from '../../src/protocols/rvp/server/server.js';
import { rvpProtocol } from '../../src/protocols/rvp/index.js';
import { createLabPki, type LabPki } from '../../src/lab/tls.js';
import type { AgentTarget, VuEvents } from '../../src/protocols/types.js';
import { exchange, request } from './rvp-wire-helpers.js';

const PASSWORD_ENV = 'RVP_HTTPS_TEST_PASSWORD';
let pki: LabPki;
let server: RvpServerHandle;

before(async () => {
  process.env[PASSWORD_ENV] = 'https-test-secret';
  pki = await createLabPki({ dir: mkdtempSync(join(tmpdir(), 'imload-rvps-')), commonName: 'im.example.com' });
  server = await runRvpServer({
    role: 'combined',
    domain: 'im.example.com',
    users: { pattern: 'u{index:2}', count: 10 },
    password: { env: PASSWORD_ENV },
    tls: { certificateFile: pki.certificateFile, privateKeyFile: pki.privateKeyFile },
  });
});
after(() => server.close());

function target(tls: AgentTarget['tls']): AgentTarget {
  return { name: 'rvps', protocol: 'rvp', host: '127.0.0.1', port: server.port, transport: 'tls', domain: 'im.example.com', tls, options: { requestTimeoutMs: 3000 } };
}

function recorder() {
  const messages: string[] = [];
  const errors: string[] = [];
  const events: VuEvents = {
    bytes: () => {},
    message: (_from, text) => messages.push(text),
    presence: () => {},
    error: (kind, detail) => errors.push(`${kind}: ${detail ?? ''}`),
    disconnected: () => {},
    note: () => {},
    metric: () => {},
  };
  return { messages, errors, events };
}

const PASSWORD = () => process.env[PASSWORD_ENV]!;

test('rvps:// with the CA: Digest logon and an IM over HTTPS', async () => {
  assert.match(server.url, /^https:\/\//);
  const agent = await rvpProtocol.createAgent(target({ ca: pki.caFile }));
  const alice = recorder();
  const bob = recorder();
  const a = agent.createUser({ index: 1, name: 'u01', password: PASSWORD(), contacts: ['u02'], channels: [] }, alice.events);
  const b = agent.createUser({ index: 2, name: 'u02', password: PASSWORD(), contacts: ['u01'], channels: [] }, bob.events);
  try {
    await a.logon();
    await b.logon();
    const sent = await a.message('u02', 'over https');
    assert.deepEqual(sent, { ok: true, recipients: 1 });
    assert.ok(bob.messages.some((text) => text.includes('over https')), JSON.stringify(bob.messages));
    assert.equal(server.stats().online, 2);
    assert.deepEqual([...alice.errors, ...bob.errors], []);
    await a.logoff();
    await b.logoff();
  } finally {
    a.destroy();
    b.destroy();
    await agent.close();
  }
});

test('rvps:// verified without the CA fails as tls-error naming the endpoint; insecure connects', async () => {
  const strict = await rvpProtocol.createAgent(target({ insecure: false }));
  const user = strict.createUser({ index: 3, name: 'u03', password: PASSWORD(), contacts: [], channels: [] }, recorder().events);
  try {
    await assert.rejects(user.logon(), (error: Error & { kind?: string }) => {
      assert.equal(error.kind, 'tls-error', error.message);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
      assert.match(error.message, /certificate/i);
      return true;
    });
  } finally {
    user.destroy();
    await strict.close();
  }
  const loose = await rvpProtocol.createAgent(target({ insecure: true }));
  const other = loose.createUser({ index: 4, name: 'u04', password: PASSWORD(), contacts: [], channels: [] }, recorder().events);
  try {
    await other.logon();
    await other.logoff();
  } finally {
    other.destroy();
    await loose.close();
  }
});

test('plain HTTP to the HTTPS port gets no RVP answer', async () => {
  await assert.rejects(exchange(server.port, request('PROPFIND', '/instmsg/aliases/u05', { Depth: '0' })));
});
