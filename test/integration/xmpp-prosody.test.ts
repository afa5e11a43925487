/**
 * XMPP load end to end through the engine's run API against a real Prosody the lab starts:
 * users log on (STARTTLS, SCRAM-SHA-1, bind), subscribe to 20 contacts (live, or from rosters
 * provisioned before the start), change presence, send chat messages and talk in MUC rooms.
 * Every message arrives exactly once, every scheduled presence change reaches every watcher the
 * schedule has online, and Prosody's own count of bound sessions equals imload's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProsody, startProsodyLab } from '../../src/protocols/xmpp/lab-prosody.js';
import type { LabTarget } from '../../src/lab/types.js';
import { requireBinary } from '../helpers/require.js';
import { loadProtocol } from '../../src/protocols/registry.js';
import { assertExactRun, PASSWORD, planAccounts, runXmpp, USERS, xmppScenario } from '../helpers/xmpp-run.js';

const FILE = 'test/integration/xmpp-prosody.test.ts';
const EXPECT = { server: 'Prosody', countedBy: 'prosodyctl' };

test('XMPP on Prosody over STARTTLS, subscriptions requested live: exact delivery, presence, server count', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, 'prosody', 'prosody')) return;
  // Live subscriptions cost Prosody (some 5 s for 40 users with 20 contacts each logging on at
  // once on this 2-core machine), and a room message sent while joins are still being announced
  // reaches occupants its sender does not know of yet: a slower ramp, and activity later.
  const s = xmppScenario({ rate: 10, activityDelay: '6s', hold: '16s' });
  const lab = await startProsodyLab({ users: USERS, domain: 'it.test', password: PASSWORD });
  try {
    assertExactRun(await runXmpp(lab, 'auto', s, FILE), { ...EXPECT, rostersProvisioned: false });
  } finally {
    await lab.stop();
  }
});

test('XMPP on Prosody over plain TCP with 20-contact rosters provisioned before the start', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, 'prosody', 'prosody')) return;
  const s = xmppScenario({ rate: 40, activityDelay: '2s', hold: '12s' });
  const server = await startProsody({ domain: 'it.test', accounts: planAccounts(s) });
  const lab: LabTarget = {
    primary: server,
    servers: [server],
    url: server.url,
    domain: server.domain,
    ca: server.caFile,
    options: { prosodyConfig: server.configFile },
    stop: () => server.stop(),
    serverPids: () => [server.pid],
  };
  try {
    assertExactRun(await runXmpp(lab, 'never', s, FILE), { ...EXPECT, rostersProvisioned: true });
  } finally {
    await lab.stop();
  }
});

test('XMPP on Prosody over direct TLS (xmpps://): logon verified against the lab CA, a message, the server count', { timeout: 30_000 }, async (t) => {
  if (!requireBinary(t, 'prosody', 'prosody')) return;
  const lab = await startProsodyLab({ users: 2, domain: 'it.test', password: PASSWORD, transport: 'tls' });
  try {
    const url = new URL(lab.url);
    assert.equal(url.protocol, 'xmpps:');
    const agent = await (await loadProtocol('xmpp')).createAgent({
      name: 'xmpp', protocol: 'xmpp', host: url.hostname, port: Number(url.port), transport: 'tls', domain: lab.domain, tls: { ca: lab.ca, insecure: false }, options: { ...lab.options },
    });
    const got: string[] = [];
    const events = { bytes() {}, message: (_from: string, body: string) => got.push(body), presence() {}, metric() {}, error() {}, disconnected() {}, note() {} };
    const a = agent.createUser({ index: 0, name: 'u000001', password: PASSWORD, contacts: [], channels: [] }, events);
    const b = agent.createUser({ index: 1, name: 'u000002', password: PASSWORD, contacts: [], channels: [] }, events);
    await a.logon();
    await b.logon();
    assert.deepEqual(await a.message('u000002', 'over direct TLS'), { ok: true, recipients: 1 });
    assert.equal(await agent.serverOnlineCount?.(), 2);
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await a.logoff();
    await b.logoff();
    assert.deepEqual(got, ['over direct TLS'], 'delivered once');
    assert.equal(await agent.serverOnlineCount?.(), 0);
  } finally {
    await lab.stop();
  }
});
