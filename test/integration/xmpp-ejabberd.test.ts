/**
 * XMPP load end to end through the engine's run API against a real ejabberd the lab starts
 * (src/protocols/xmpp/lab-ejabberd.ts): users log on (STARTTLS or plain, SASL, bind), subscribe
 * to 20 contacts (live, or from rosters provisioned in bulk before the start), change presence,
 * send chat messages and talk in MUC rooms. Every message arrives exactly once, every scheduled
 * presence change reaches every watcher the schedule has online, and ejabberd's own count of
 * sessions (`ejabberdctl connected_users_number`) equals imload's.
 * The scenario and the assertions are test/helpers/xmpp-run.ts's, shared with xmpp-prosody.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEjabberd, startEjabberdLab } from '../../src/protocols/xmpp/lab-ejabberd.js';
import { ejabberdRoster } from '../../src/protocols/xmpp/ejabberd-node.js';
import { provisionAccounts } from '../../src/protocols/xmpp/provision.js';
import type { LabTarget } from '../../src/lab/types.js';
import { requireBinary } from '../helpers/require.js';
import { assertExactRun, PASSWORD, planAccounts, runXmpp, USERS, xmppScenario } from '../helpers/xmpp-run.js';

const FILE = 'test/integration/xmpp-ejabberd.test.ts';
const EXPECT = { server: 'ejabberd', countedBy: 'ejabberdctl connected_users_number' };
const PACING = { rate: 40, activityDelay: '2s', hold: '14s' };

test('XMPP on ejabberd over STARTTLS, accounts from the lab, subscriptions requested live: exact delivery, presence, server count', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'ejabberdctl', 'ejabberd')) return;
  const s = xmppScenario(PACING);
  const lab = await startEjabberdLab({ users: USERS, domain: 'it.test', password: PASSWORD });
  try {
    assertExactRun(await runXmpp(lab, 'auto', s, FILE), { ...EXPECT, rostersProvisioned: false });
  } finally {
    await lab.stop();
  }
});

test("XMPP on ejabberd over plain TCP with the plan's 20-contact rosters provisioned in bulk", { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'ejabberdctl', 'ejabberd')) return;
  const s = xmppScenario(PACING);
  const users = planAccounts(s);
  const server = await startEjabberd({ domain: 'it.test' });
  try {
    const provisioned = await provisionAccounts('ejabberd', server, server.domain, users);
    assert.equal(provisioned.accounts, USERS);
    // The plan's lists are one-sided mostly: who a user lists is `to` (or `both` when listed back).
    const first = await ejabberdRoster(server, users[0]!.name, server.domain);
    const listed = new Set(users[0]!.contacts.map((name) => `${name}@${server.domain}`));
    assert.deepEqual(first.filter((item) => item.subscription === 'to' || item.subscription === 'both').map((item) => item.jid).sort(), [...listed].sort());
    assert.ok(first.filter((item) => !listed.has(item.jid)).every((item) => item.subscription === 'from'));
    const lab: LabTarget = {
      primary: server.server,
      servers: [server.server],
      url: server.server.url,
      domain: server.domain,
      ca: server.caFile,
      options: { ejabberdctl: server.ctlScript, mucService: server.mucDomain },
      stop: () => server.stop(),
      serverPids: () => [server.pid],
    };
    assertExactRun(await runXmpp(lab, 'never', s, FILE), { ...EXPECT, rostersProvisioned: true });
  } finally {
    await server.stop();
  }
});
