/**
 * Bandwidth per user normalised to real time from a journal (docs/metrics.md § Compressed time),
 * on hand-made journals whose bytes the test knows: behaviour and sessions are divided by the
 * timeScale, timers are not, the model is scaled to the measured bytes, and timeScale 1 is the
 * wall-clock figure itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scenario } from '../../src/scenarios/schema.js';
import type { CounterName } from '../../src/metrics/names.js';
import type { JournalEntry, JournalSecond } from '../../src/metrics/journal.js';
import { normaliseBandwidth } from '../../src/analysis/normalise.js';
import { byteModelFor, type ByteModel } from '../../src/analysis/simulate-bytes.js';

const model: ByteModel = {
  ...byteModelFor('sip'),
  logon: 1_000, logonPerContact: 0, logoff: 0, logoffPerContact: 0,
  message: 300, messageDelivery: 200, presenceChange: 0, presenceNotify: 0,
  // 3,600 bytes an hour per user: 1 byte per user-second, 0.008 kbit/s.
  timers: [{ what: 'refresh', bytes: 3_600, bytesPerContact: 0, everySeconds: 3_600 }],
};

function journal(timeScale: number, seconds: Array<Partial<Record<CounterName, number>> & { phase?: JournalSecond['phase'] }>): JournalEntry[] {
  const scenario = Scenario.parse({ target: 't', timeScale, population: { users: 100, contacts: 0 }, phases: [{ phase: 'rampUp', rate: 1000 }, { phase: 'hold', duration: '10s' }] });
  const header = { type: 'header', scenario, target: { name: 't', url: 'sip://127.0.0.1', protocol: 'sip' } } as unknown as JournalEntry;
  return [
    header,
    ...seconds.map(({ phase, ...counters }, i): JournalSecond => ({ type: 'second', t: i + 1, at: i * 1000, phase: phase ?? 'hold', online: 100, counters, errors: {}, histograms: {}, health: [] })),
  ];
}

/** Ten hold seconds, 100 online, 5 messages a second, bytes exactly as the model says. */
const exact = Array.from({ length: 10 }, () => ({ messagesSent: 5, deliveriesReceived: 5, bytesIn: 1_500, bytesOut: 1_000 }));

test('timeScale 1: the normalised figure is the wall-clock figure', () => {
  const n = normaliseBandwidth(journal(1, exact), model);
  // 2,500 bytes per second over 100 users: 25 B/s = 0.2 kbit/s.
  assert.equal(n.wallClockKbpsPerUser, 0.2);
  assert.equal(n.normalisedKbpsPerUser, 0.2);
  assert.equal(n.window, 'hold');
  assert.equal(n.modelScale, null);
});

test('timeScale 50: behaviour divided by 50, plus the steady timer rate the short run never saw', () => {
  const n = normaliseBandwidth(journal(50, exact), model);
  assert.equal(n.modelScale, 1);
  assert.equal(n.behaviourBytes, 25_000);
  assert.equal(n.timerBytes, 0); // no refresh falls inside 10 s
  assert.ok(Math.abs(n.wallClockKbpsPerUser - 0.2) < 1e-12);
  assert.ok(Math.abs(n.timerKbpsPerUser! - 0.008) < 1e-12);
  assert.ok(Math.abs(n.normalisedKbpsPerUser - (0.2 / 50 + 0.008)) < 1e-12);
});

test('the model is scaled to the measured bytes: twice the bytes, twice each part', () => {
  const doubled = exact.map((s) => ({ ...s, bytesIn: 3_000, bytesOut: 2_000 }));
  const n = normaliseBandwidth(journal(50, doubled), model);
  assert.equal(n.modelScale, 2);
  assert.equal(n.behaviourBytes! + n.sessionBytes! + n.timerBytes!, n.bytes);
  assert.ok(Math.abs(n.normalisedKbpsPerUser - (0.4 / 50 + 0.016)) < 1e-12);
});

test('logons inside the window count as session bytes, amortised like behaviour', () => {
  const withLogons = exact.map((s, i) => (i === 0 ? { ...s, logonOk: 10, bytesIn: 1_500 + 10_000 } : s));
  const n = normaliseBandwidth(journal(20, withLogons), model);
  assert.equal(n.sessionBytes, 10_000);
  assert.equal(n.behaviourBytes, 25_000);
  // (25,000 + 10,000) bytes / 20 over 1,000 user-seconds, in kbit/s, plus the timer.
  assert.ok(Math.abs(n.normalisedKbpsPerUser - (35_000 / 20 / 1_000) * 0.008 - 0.008) < 1e-12);
});

test('without a hold phase the whole run is the window', () => {
  const n = normaliseBandwidth(journal(1, exact.map((s) => ({ ...s, phase: 'rampUp' as const }))), model);
  assert.equal(n.window, 'run');
  assert.equal(n.userSeconds, 1_000);
});
