/** Text tables for `imload simulate` (the JSON output is the Prediction / Calibration itself). */
import type { Prediction } from './simulate.js';
import type { Calibration } from './simulate-calibrate.js';

const n = (value: number, digits = 3) => value.toLocaleString('en', { maximumFractionDigits: digits });

export function formatPrediction(name: string, p: Prediction): string {
  const lines = [
    `Predicted traffic of ${name} (${p.protocol}, ${n(p.users)} users, timeScale ${p.timeScale}; byte model: ${p.byteModel})`,
    '',
    `  messages sent per user          ${n(p.perUser.messagesSent)}  (${n(p.totals.messages)} instant, ${n(p.totals.channelMessages)} channel)`,
    `  deliveries                      ${n(p.totals.deliveries)}  (${n(p.totals.undeliverable)} instant messages to users offline)`,
    `  presence changes / notified     ${n(p.totals.presenceChanges)} / ${n(p.totals.presenceNotified)}`,
    `  bytes per user (whole run)      ${n(p.perUser.bytes, 0)}`,
    `  hold, per online user per s     ${n(p.hold.messagesPerUserSecond, 5)} messages, ${n(p.hold.bytesPerUserSecond, 1)} bytes`,
    `  hold kbit/s per user            ${n(p.hold.kbpsPerUser)} wall-clock, ${n(p.hold.normalisedKbpsPerUser, 4)} normalised to real time`,
    `  logon storm (busiest ramp s)    ${n(p.rampUp.peakLogonsPerSecond)} logons/s, ${n(p.rampUp.peakKbps, 1)} kbit/s at second ${p.rampUp.atSecond}`,
    p.totals.channelMessages > 0
      ? `  channel fan-out                 ${n(p.channelFanOut.mean, 1)} recipients per channel message (max ${n(p.channelFanOut.max)})`
      : '  channel fan-out                 no channel messages',
  ];
  const e = p.eachInstance;
  if (e) {
    const ratio = e.extraBytesRatio === null ? '' : `, ${n(e.extraBytesRatio, 2)}× the bytes of one linked instance`;
    lines.push(`  ${`each-instance, ${e.servers} servers`.padEnd(32)}${n(e.extraMessages)} extra channel messages (${n(e.extraPosts)} posts, ${n(e.extraCopies)} copies), ${n(e.extraBytes, 0)} extra bytes${ratio}`);
  }
  return lines.join('\n');
}

export function formatCalibration(c: Calibration): string {
  const width = Math.max(...c.rows.map((r) => r.metric.length));
  const lines = [`Prediction beside ${c.runDir} (${c.protocol})`, '', `  ${'metric'.padEnd(width)}  ${'predicted'.padStart(14)}  ${'measured'.padStart(14)}  error`];
  for (const r of c.rows) {
    const error = r.error === null ? 'n/a' : `${r.error >= 0 ? '+' : ''}${n(r.error * 100, 1)} %`;
    lines.push(`  ${r.metric.padEnd(width)}  ${n(r.predicted).padStart(14)}  ${n(r.measured).padStart(14)}  ${error}`);
  }
  return lines.join('\n');
}
