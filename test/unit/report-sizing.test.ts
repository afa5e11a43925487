/** The sizing arithmetic and the chart series downsampling. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sizeDeployment } from '../../src/report/sizing.js';
import { chartLatencies, downsample, plannedOnline, type TimeSeries } from '../../src/analysis/series.js';
import { METRICS } from '../../src/protocols/metric-registry.js';
import type { JournalHeader } from '../../src/metrics/journal.js';

test('servers needed: peak online over capacity, rounded up; unknown capacity says null', () => {
  const answer = sizeDeployment({
    users: 250_000,
    peakOnlineFraction: 0.05,
    capacities: [
      { label: 'documented', perServer: 10_000 },
      { label: 'measured', perServer: 4_000 },
      { label: 'nothing measured', perServer: 0 },
    ],
    bandwidths: [{ label: 'documented', kbpsPerUser: 1.6 }],
    site: { users: 100, linkKbps: 56 },
  });
  assert.equal(answer.peakOnline, 12_500);
  assert.deepEqual(answer.servers.map((s) => s.servers), [2, 4, null]);
  assert.equal(answer.bandwidth[0]!.totalKbps, 20_000);
  // 100 users × 5 % online = 5 online × 1.6 kbit/s = 8 kbit/s on a 56 kbit/s link.
  assert.equal(answer.bandwidth[0]!.siteKbps, 8);
  assert.ok(Math.abs(answer.bandwidth[0]!.siteLinkUse! - 8 / 56) < 1e-12);
});

test('sizing edge cases: nobody online needs no servers; fractions are clamped; no site, no site figures', () => {
  const none = sizeDeployment({ users: 0, peakOnlineFraction: 1, capacities: [{ label: 'x', perServer: 100 }], bandwidths: [{ label: 'b', kbpsPerUser: 2 }] });
  assert.equal(none.servers[0]!.servers, 0);
  assert.equal(none.bandwidth[0]!.siteKbps, null);
  assert.equal(none.bandwidth[0]!.siteLinkUse, null);
  const over = sizeDeployment({ users: 1000, peakOnlineFraction: 3, capacities: [{ label: 'x', perServer: 999 }], bandwidths: [] });
  assert.equal(over.peakOnline, 1000);
  assert.equal(over.servers[0]!.servers, 2);
});

test('sizeDeployment is self-contained, so the page can embed its source', () => {
  const rebuilt = new Function(`return (${sizeDeployment.toString()});`)() as typeof sizeDeployment;
  const query = { users: 123_456, peakOnlineFraction: 0.37, capacities: [{ label: 'a', perServer: 7000 }], bandwidths: [{ label: 'b', kbpsPerUser: 1.3 }], site: { users: 60, linkKbps: 128 } };
  assert.deepEqual(rebuilt(query), sizeDeployment(query));
});

test('plannedOnline follows the ramp, the hold and the ramp-down', () => {
  const header = { timeline: { rampUpEnd: 10_000, holdEnd: 30_000, end: 40_000 } } as JournalHeader;
  assert.deepEqual([0, 5, 10, 20, 30, 35, 40, 41].map((t) => plannedOnline(header, 100, t)), [0, 50, 100, 100, 100, 50, 0, 0]);
});

test('downsampling keeps each bucket\'s lowest and highest value, in the order they happened', () => {
  const series: TimeSeries = {
    t: [1, 2, 3, 4, 5, 6, 7],
    bucketSeconds: 1,
    errorKinds: [],
    latencies: chartLatencies(METRICS),
    phases: [],
    columns: {
      'latency:delivery:p99': [1, 9, null, 2, 3, 4, 8],
      sent: [10, 20, 30, 40, 50, 60, 70],
      online: [6, 5, 4, 3, 2, 1, 0],
      // A one-second burst in a quiet run: its height must survive.
      errors: [0, 0, 0, 0, 500, 0, 0],
      nothing: [null, null, null, null, null, null, null],
    },
  };
  const small = downsample(series, 6);
  assert.equal(small.bucketSeconds, 3);
  assert.deepEqual(small.t, [1, 3, 4, 6, 7], 'each bucket at its first and last second; a one-second bucket is one point');
  assert.ok(small.t.length <= 6);
  assert.deepEqual(small.columns['latency:delivery:p99'], [1, 9, 2, 4, 8]);
  assert.deepEqual(small.columns.sent, [10, 30, 40, 60, 70]);
  assert.deepEqual(small.columns.online, [6, 4, 3, 1, 0], 'falling: the highest comes first');
  assert.deepEqual(small.columns.errors, [0, 0, 0, 500, 0]);
  assert.deepEqual(small.columns.nothing, [null, null, null, null, null]);
  assert.equal(downsample(series, 10), series, 'short series are left alone');
});
