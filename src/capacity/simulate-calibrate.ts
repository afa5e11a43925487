/**
 * `imload simulate --calibrate <run-dir>`: the prediction for the scenario a run actually ran
 * (its journal header holds the scenario after overrides), set beside what the run measured,
 * with the prediction error per metric.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal, type JournalHeader, type JournalSecond } from '../metrics/journal.js';
import type { Scenario } from '../scenarios/schema.js';
import { predictTraffic, type Prediction } from './simulate.js';
import { normaliseBandwidth } from '../analysis/normalise.js';

export interface CalibrationRow {
  readonly metric: string;
  readonly unit: string;
  readonly predicted: number;
  readonly measured: number;
  /** (predicted − measured) / measured; null when nothing was measured. */
  readonly error: number | null;
}

export interface Calibration {
  readonly runDir: string;
  readonly protocol: string;
  readonly prediction: Prediction;
  /** The logon time the prediction assumed (the run's mean). */
  readonly logonMs: number;
  readonly rows: readonly CalibrationRow[];
}

export class CalibrationError extends Error {}

export function calibrateAgainstRun(runDir: string): Calibration {
  const path = join(runDir, 'journal.ndjson');
  if (!existsSync(path)) throw new CalibrationError(`${runDir}: no journal.ndjson here (is it a run folder?)`);
  const entries = readJournal(path);
  const header = entries[0] as JournalHeader;
  const scenario = header.scenario as Scenario;
  const protocol = header.target.protocol;
  // Logons take time (InspIRCd delays registration about a second): the prediction places them
  // when the run saw them complete on average, so the same seconds count them.
  const logonMs = measuredLogonMean(runDir);
  const prediction = predictTraffic(scenario, protocol, { logonMs, eachInstanceServers: header.target.eachInstance?.servers });
  const seconds = entries.filter((e): e is JournalSecond => e.type === 'second');
  const total = (name: keyof JournalSecond['counters']) => seconds.reduce((n, s) => n + (s.counters[name] ?? 0), 0);
  const users = scenario.population.users;
  const measuredBytes = total('bytesIn') + total('bytesOut');
  const normalised = normaliseBandwidth(entries);
  const lastLogon = Math.max(0, ...seconds.filter((s) => (s.counters.logonOk ?? 0) > 0).map((s) => s.t));
  const storm = seconds.filter((s) => s.t <= lastLogon);
  const measuredRampPeak = Math.max(0, ...storm.map((s) => (s.counters.bytesIn ?? 0) + (s.counters.bytesOut ?? 0)));

  const rows: CalibrationRow[] = [
    row('messages sent per user', 'messages', prediction.perUser.messagesSent, (total('messagesSent') + total('channelMessagesSent')) / users),
    row('deliveries', 'messages', prediction.totals.deliveries, total('deliveriesReceived')),
    row('presence notifications', 'notifications', prediction.totals.presenceNotified, total('presenceSeen')),
    row('bytes per user (whole run)', 'bytes', prediction.perUser.bytes, measuredBytes / users),
    row('hold kbit/s per online user (wall-clock)', 'kbit/s', prediction.hold.kbpsPerUser, normalised.wallClockKbpsPerUser),
    row('hold kbit/s per online user (normalised)', 'kbit/s', prediction.hold.normalisedKbpsPerUser, normalised.normalisedKbpsPerUser),
    // Per-second byte counters arrive in bursts, so one second is a rough figure: expect tens of %.
    row('busiest second of the logon storm', 'bytes/s', prediction.rampUp.peakBytesPerSecond, measuredRampPeak),
  ];
  if (prediction.eachInstance) {
    rows.push(
      row('each-instance extra messages', 'messages', prediction.eachInstance.extraMessages, total('instancePosts') + total('instanceCopies')),
      row('each-instance extra bytes', 'bytes', prediction.eachInstance.extraBytes, total('instanceBytesIn') + total('instanceBytesOut')),
    );
  }
  return { runDir, protocol, prediction, logonMs, rows };
}

/** The run's mean logon time from its summary.json, 0 when there is none. */
function measuredLogonMean(runDir: string): number {
  const path = join(runDir, 'summary.json');
  if (!existsSync(path)) return 0;
  const summary = JSON.parse(readFileSync(path, 'utf8')) as { latency?: { logon?: { mean?: number; count?: number } } };
  const logon = summary.latency?.logon;
  return logon && (logon.count ?? 0) > 0 ? (logon.mean ?? 0) : 0;
}

function row(metric: string, unit: string, predicted: number, measured: number): CalibrationRow {
  return { metric, unit, predicted, measured, error: measured !== 0 ? (predicted - measured) / measured : predicted === 0 ? 0 : null };
}
