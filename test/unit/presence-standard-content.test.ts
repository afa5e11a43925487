/**
 * Presence notifications carrying only the standard status reach the figures: the RVP draft's
 * propnotification with a bare `r:state` (prefixed, as in its examples, and in a default
 * namespace), a SIP PIDF with `<basic>` and no `<note>`, and the inbox counting such a
 * notification by the schedule, with the method noted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNotification } from '../../src/protocols/rvp/bodies.js';
import { parsePidf } from '../../src/protocols/sip/pidf.js';
import { Inbox } from '../../src/engine/inbox.js';
import { PresenceCorrelator } from '../../src/engine/presence-correlation.js';
import { MetricsRecorder } from '../../src/metrics/recorder.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';

test('RVP: a propnotification with r:state alone, in the draft\'s prefixed form and in a default namespace', () => {
  const prefixed =
    '<?xml version="1.0"?><r:notification xmlns:d="DAV:" xmlns:r="http://schemas.microsoft.com/rvp/"><r:propnotification>' +
    '<r:notification-from><r:contact><d:href>http://im.example.com/instmsg/aliases/bob</d:href><r:description/></r:contact></r:notification-from>' +
    '<r:notification-to><r:contact><d:href>http://im.example.com/instmsg/aliases/alice</d:href><r:description/></r:contact></r:notification-to>' +
    '<d:propertyupdate><d:set><d:prop><r:state><r:busy/></r:state></d:prop></d:set></d:propertyupdate></r:propnotification></r:notification>';
  assert.deepEqual(parseNotification(prefixed), { kind: 'presence', from: 'bob', status: 'busy', note: undefined });
  const unprefixed =
    '<notification xmlns="http://schemas.microsoft.com/rvp/" xmlns:D="DAV:"><propnotification>' +
    '<notification-from><contact><D:href>http://im.example.com/instmsg/aliases/bob</D:href></contact></notification-from>' +
    '<D:propertyupdate><D:set><D:prop><state><away/></state></D:prop></D:set></D:propertyupdate></propnotification></notification>';
  assert.deepEqual(parseNotification(unprefixed), { kind: 'presence', from: 'bob', status: 'away', note: undefined });
});

test('SIP: a PIDF with <basic> and an RPID activity and no <note>', () => {
  const pidf =
    '<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:bob@lab.test">' +
    '<tuple id="t1"><status><basic>open</basic></status></tuple><dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" id="p1">' +
    '<rpid:activities><rpid:away/></rpid:activities></dm:person></presence>';
  assert.deepEqual(parsePidf(pidf), { state: 'away', note: '' });
});

test('the inbox counts a notification without a stamp by the schedule, with its latency, and notes the method', () => {
  const plan = new WorkloadPlan(
    parseScenarioText(`version: 1
targets: { im: { url: sip://127.0.0.1:5060 } }
scenarios:
  s:
    target: im
    seed: 3
    timeScale: 3600
    population: { users: 30, contacts: 4 }
    phases: [{ phase: rampUp, rate: 100 }, { phase: hold, duration: 60s }]
    behaviour: { presenceChangesPerHour: 30 }
`).scenarios.s!,
  );
  const start = 5_000_000;
  const watcher = plan.identity(0);
  const contactIndex = plan.contactIndices(0)[0]!;
  const activity = plan.activity(contactIndex, plan.identity(contactIndex));
  let change;
  for (let a = activity.next(); a !== undefined && change === undefined; a = activity.next()) if (a.kind === 'presence') change = a;
  assert.ok(change, 'the contact has a scheduled change');

  const measure = (correlator: PresenceCorrelator | undefined) => {
    const metrics = new MetricsRecorder(0);
    const notes: string[] = [];
    const inbox = new Inbox(metrics, watcher, { channelNamed: () => undefined }, undefined, correlator, { note: (key) => notes.push(key) });
    inbox.presence(watcher.contacts[0]!, change.state, '', start + change.at + 250, false);
    const snapshot = metrics.snapshot();
    return { seen: snapshot.counters.presenceSeen ?? 0, latency: snapshot.histograms.presence !== undefined, notes };
  };
  assert.deepEqual(measure(new PresenceCorrelator(plan, watcher, start)), { seen: 1, latency: true, notes: ['presence-method-schedule'] });
  assert.deepEqual(measure(undefined), { seen: 0, latency: false, notes: [] }, 'without the schedule, a notification without a stamp measures nothing');
});
