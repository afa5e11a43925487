/**
 * `imload simulate` against measured smoke runs: a small scenario per protocol runs against its
 * lab server (InspIRCd, the reference RVP server, Kamailio), then the prediction for the very
 * scenario the run ran is set beside it. The scenarios differ from the runs the byte model was
 * fitted to (users, seeds, contacts, channel layout, message size, timeScale), so these check the
 * model, not its fit. Messages and bytes per user must be within 10 %.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { calibrateAgainstRun, type Calibration } from '../../src/capacity/simulate-calibrate.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const SCENARIOS = `version: 1
targets:
  chat: { url: irc://127.0.0.1:6667, lab: inspircd }
  im: { url: rvp://127.0.0.1:8080, lab: rvp, domain: im.example.com }
  sip: { url: sip://127.0.0.1:5060, transport: udp, domain: lab.test, lab: kamailio }
scenarios:
  irc-small:
    target: chat
    seed: 21
    timeScale: 150
    population:
      users: 90
      channels: { count: 5, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: 45 }
      - { phase: hold, duration: 15s }
      - { phase: rampDown, rate: 90 }
    behaviour: { messagesPerHour: 5, channelMessagesPerHour: 3, messageBytes: 80, activityStart: rampUpEnd, activityDelay: 2s }
    thresholds: [ 'logon.p95 < 10s' ]
  rvp-small:
    target: im
    seed: 22
    timeScale: 150
    population: { users: 120, contacts: 15 }
    phases:
      - { phase: rampUp, rate: 60 }
      - { phase: hold, duration: 15s }
      - { phase: rampDown, rate: 120 }
    behaviour: { messagesPerHour: 4, presenceChangesPerHour: 3, messageBytes: 80, activityStart: rampUpEnd, activityDelay: 2s }
    thresholds: [ 'logon.p95 < 10s' ]
  sip-small:
    target: sip
    seed: 23
    timeScale: 150
    population: { users: 100, contacts: 12 }
    phases:
      - { phase: rampUp, rate: 50 }
      - { phase: hold, duration: 15s }
      - { phase: rampDown, rate: 100 }
    behaviour: { messagesPerHour: 4, presenceChangesPerHour: 3, messageBytes: 80, activityStart: rampUpEnd, activityDelay: 2s }
    thresholds: [ 'logon.p95 < 10s' ]
`;

const { file, dir } = writeScenario(SCENARIOS);

async function runAndCalibrate(scenario: string): Promise<Calibration> {
  const out = join(dir, scenario);
  const { exitCode } = await runCommand({ file, scenario, lab: true, quiet: true, out, signal: new AbortController().signal });
  assert.equal(exitCode, 0, `${scenario} should complete within its thresholds`);
  return calibrateAgainstRun(out);
}

function assertWithin(t: TestContext, calibration: Calibration, metric: string, tolerance: number): void {
  const row = calibration.rows.find((r) => r.metric === metric);
  assert.ok(row, `no ${metric} row`);
  t.diagnostic(`${metric}: predicted ${row.predicted.toFixed(3)}, measured ${row.measured.toFixed(3)}`);
  assert.ok(row.measured > 0, `${metric}: the run measured nothing`);
  assert.ok(row.error !== null && Math.abs(row.error) <= tolerance, `${metric}: predicted ${row.predicted}, measured ${row.measured} (error ${((row.error ?? NaN) * 100).toFixed(1)} %)`);
}

test('IRC (InspIRCd): predicted messages and bytes per user within 10 % of a measured run', async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const c = await runAndCalibrate('irc-small');
  assertWithin(t, c, 'messages sent per user', 0.1);
  assertWithin(t, c, 'deliveries', 0.1);
  assertWithin(t, c, 'bytes per user (whole run)', 0.1);
  assert.ok(c.prediction.channelFanOut.mean > 5, 'channels of ~25 members fan out');
});

test('RVP (reference server): predicted messages, presence notifications and bytes per user within 10 %', async (t) => {
  const c = await runAndCalibrate('rvp-small');
  assertWithin(t, c, 'messages sent per user', 0.1);
  assertWithin(t, c, 'presence notifications', 0.1);
  assertWithin(t, c, 'bytes per user (whole run)', 0.1);
});

test('SIP (Kamailio over UDP): predicted messages, presence notifications and bytes per user within 10 %', async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const c = await runAndCalibrate('sip-small');
  assertWithin(t, c, 'messages sent per user', 0.1);
  assertWithin(t, c, 'presence notifications', 0.1);
  assertWithin(t, c, 'bytes per user (whole run)', 0.1);
});
