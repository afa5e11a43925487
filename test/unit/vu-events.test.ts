/**
 * The agent's callbacks for one connection (vu-events.ts), built alone: counted bytes and
 * protocol metrics, failures handed to the lifecycle while the connection lives and counted as
 * teardown once it is closed, and a loss reported at most once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRecorder } from '../../src/metrics/recorder.js';
import { METRICS } from '../../src/protocols/metric-registry.js';
import { decodeHistogram } from '../../src/metrics/histogram.js';
import { Inbox } from '../../src/engine/inbox.js';
import { ConnectionEvents, type ConnectionOwner } from '../../src/engine/vu-events.js';
import { UserChannels } from '../../src/engine/vu-script.js';
import { formatStamp } from '../../src/engine/stamp.js';
import type { VuIdentity } from '../../src/protocols/types.js';

const identity: VuIdentity = { index: 1, name: 'u000002', contacts: [], channels: [] };

function build() {
  const metrics = new MetricsRecorder(0, METRICS);
  const owned = { errors: [] as string[], lost: [] as string[], notes: [] as string[], retried: [] as string[] };
  const owner: ConnectionOwner = {
    error: (kind) => void owned.errors.push(kind),
    lost: (_reason, kind) => void owned.lost.push(kind),
    note: (key) => void owned.notes.push(key),
    retried: (metric) => void owned.retried.push(metric),
  };
  const events = new ConnectionEvents(metrics, new Inbox(metrics, identity, new UserChannels(identity)), owner);
  return { metrics, owned, events };
}

test('bytes, deliveries and protocol metrics are counted', () => {
  const { metrics, events } = build();
  events.bytes(10, 20);
  events.message('u000003', formatStamp(2, 1, 1000, 1), 1040);
  events.metric('register', 12);
  events.metric('retransmissions', 2);
  const snapshot = metrics.snapshot();
  assert.equal(snapshot.counters.bytesIn, 10);
  assert.equal(snapshot.counters.bytesOut, 20);
  assert.equal(snapshot.counters.deliveriesReceived, 1);
  assert.equal(snapshot.counters.retransmissions, 2);
  assert.equal(decodeHistogram(snapshot.histograms.register!).totalCount, 1);
});

test('while live, failures and a loss go to the lifecycle; once closed, failures are teardown and a loss is not reported', () => {
  const { metrics, owned, events } = build();
  events.error('protocol-error', 'bad line');
  events.disconnected('reset by peer');
  assert.deepEqual(owned.errors, ['protocol-error']);
  assert.deepEqual(owned.lost, ['unexpected-close'], 'the default kind of a loss');
  events.close('lost');
  events.close('imload');
  assert.equal(events.closedBy, 'lost', 'the first closer counts');
  events.error('connection-reset');
  events.disconnected('again', 'connection-reset');
  assert.deepEqual(owned.errors, ['protocol-error']);
  assert.deepEqual(owned.lost, ['unexpected-close']);
  assert.deepEqual(metrics.snapshot().teardown, { 'connection-reset': 1 });
});

test('a delivery the agent names `alsoAs` is timed from the stamp under that protocol latency too; a duplicate is not', () => {
  const { metrics, events } = build();
  events.message('u000003', formatStamp(2, 1, 1000, 1), 1040, undefined, 'deliveryCrossFrontEnd');
  events.message('u000003', formatStamp(2, 1, 1000, 1), 1090, undefined, 'deliveryCrossFrontEnd');
  const histogram = decodeHistogram(metrics.snapshot().histograms.deliveryCrossFrontEnd!);
  assert.equal(histogram.totalCount, 1, 'the duplicate is counted as one, not timed again');
  assert.ok(Math.abs(histogram.maxValue / 1000 - 40) <= 1, `timed from the stamp: ${histogram.maxValue} µs`);
});

test('a retry metric names the user to the lifecycle while the connection lives; other metrics do not', () => {
  const { metrics, owned, events } = build();
  events.metric('retransmissions', 1);
  events.metric('poolFailoverMessage', 1);
  assert.deepEqual(owned.retried, ['poolFailoverMessage']);
  events.close('imload');
  events.metric('poolFailoverMessage', 1);
  assert.deepEqual(owned.retried, ['poolFailoverMessage'], 'not after the connection closed');
  assert.equal(metrics.snapshot().counters.poolFailoverMessage, 2, 'counted either way');
});
