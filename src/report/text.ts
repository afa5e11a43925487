/** The readable summary printed at the end of a run, and the live progress line. */
import type { Progress } from '../engine/coordinator.js';
import type { LatencySummary } from '../metrics/histogram.js';
import type { Summary } from './summary.js';
import { describeRssPerVu } from '../capacity/generator.js';

const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 2 : 0)} ms`);

function latencyLine(name: string, l: LatencySummary): string {
  if (l.count === 0) return `  ${name.padEnd(10)} (no samples)`;
  return `  ${name.padEnd(10)} p50 ${ms(l.p50).padStart(9)}  p95 ${ms(l.p95).padStart(9)}  p99 ${ms(l.p99).padStart(9)}  max ${ms(l.max).padStart(9)}  (n=${l.count})`;
}

export function formatSummaryText(summary: Summary, runDir: string): string {
  const s = summary;
  const out: string[] = [];
  out.push('');
  out.push(`imload run ${s.runId} — scenario ${s.scenario.name} against ${s.target.url} (seed ${s.seed}, timeScale ${s.timeScale})`);
  out.push(`ended: ${s.end.reason}${s.end.detail ? ` (${s.end.detail})` : ''} after ${s.durationSeconds} s`);
  out.push('');
  out.push(`users      requested ${s.users.requested}, peak online ${s.users.peakOnline}, logons ok ${s.users.logonOk}/${s.users.logonAttempts}, failed ${s.users.logonFailures}, disconnects ${s.users.disconnects}, reconnects ${s.users.reconnects}`);
  out.push(latencyLine('logon', s.latency.logon));
  if (s.latency.register.count > 0) out.push(latencyLine('register', s.latency.register));
  out.push(latencyLine('join', s.latency.join));
  out.push(latencyLine('delivery', s.latency.delivery));
  if (s.latency.presence.count > 0) out.push(latencyLine('presence', s.latency.presence));
  const m = s.messages;
  out.push(`messages   IM sent ${m.sent}, channel sent ${m.channelSent}; deliveries expected ${m.expected}, delivered ${m.delivered}, lost ${m.lost}, duplicates ${m.duplicates}, misrouted ${m.misrouted}, recipient offline ${m.undeliverable}, send failures ${m.failed}`);
  if (s.presence.changes > 0) {
    out.push(`presence   changes ${s.presence.changes}, watcher notifications expected ${s.presence.expected} (by schedule), seen ${s.presence.seen}`);
  }
  if (s.retransmissions > 0) out.push(`transport  ${s.retransmissions} retransmissions`);
  out.push(`bandwidth  in ${(s.bandwidth.bytesIn / 1024).toFixed(1)} KiB, out ${(s.bandwidth.bytesOut / 1024).toFixed(1)} KiB, ${s.bandwidth.kbpsPerUser.toFixed(3)} kbit/s per online user (${s.bandwidth.window}, ${s.bandwidth.basis})`);
  const kinds = Object.entries(s.errors.byKind).sort((a, b) => b[1] - a[1]);
  out.push(`errors     ${s.errors.total}${kinds.length > 0 ? `: ${kinds.map(([k, n]) => `${k} ×${n}`).join(', ')}` : ''}`);
  if (s.crossCheck) {
    const c = s.crossCheck;
    out.push(`crosscheck imload online ${c.imloadOnline}, server says ${c.serverOnline ?? 'n/a'} (${c.source})${c.match === false ? '  MISMATCH' : ''}`);
  }
  const g = s.generator;
  out.push(`generator  ${g.workers} worker(s), event-loop p99 ≤ ${g.eventLoopP99} ms, ${describeRssPerVu(g)}${g.bottleneck ? `  BOTTLENECK: ${g.reasons.join('; ')}` : ''}`);
  for (const o of s.faults.outages) {
    out.push(
      `fault      ${o.target} killed at ${o.downAt} s${o.upAt !== null ? `, restarted at ${o.upAt} s` : ' (not restarted)'}: online ${o.onlineBefore} → ${o.lowestOnline}, back ${o.usersBack}${o.recoverySeconds !== null ? `, recovered ${o.recoverySeconds} s after the restart` : ', not recovered'}`,
    );
  }
  if (s.stepSearch) {
    out.push('');
    out.push(`step search: sustainable ${s.stepSearch.sustainable ?? 'none'}, broke at ${s.stepSearch.brokeAt ?? '—'}${s.stepSearch.gaveOut ? ` (${s.stepSearch.gaveOut})` : ''}`);
    for (const step of s.stepSearch.steps) {
      out.push(`  ${String(step.level).padStart(7)} users  ${step.ok ? 'held' : 'BROKE'}  ${step.windows.map((w) => (w.ok ? 'ok' : `✗ ${w.failed.join(', ') || 'generator'}`)).join(' | ')}`);
    }
  }
  if (s.thresholds.length > 0) {
    out.push('');
    out.push('thresholds');
    for (const t of s.thresholds) out.push(`  ${t.ok ? 'ok  ' : 'FAIL'} ${t.name}  (measured ${t.actual === null ? 'nothing' : round(t.actual)})`);
  }
  if (s.limits) {
    out.push('');
    out.push(`limits: ${s.limits.title} [${s.limits.profile} v${s.limits.version}]`);
    for (const v of s.limits.verdicts) {
      const label = v.verdict === 'met' ? 'met' : v.verdict === 'missed' ? `missed at ${v.at}` : v.verdict === 'inconclusive' ? 'inconclusive' : 'not reached';
      out.push(`  ${v.id}: ${v.value} ${v.unit} — ${label}: ${v.reason}`);
    }
  }
  if (s.notes.length > 0) {
    out.push('');
    out.push('notes');
    for (const n of s.notes) out.push(`  ${n.text}`);
  }
  out.push('');
  out.push(`outputs in ${runDir} (report: ${runDir}/index.html)`);
  return out.join('\n');
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export function formatProgress(p: Progress): string {
  const t = p.totals;
  return `t=${String(p.t).padStart(4)}s ${p.phase.padEnd(8)} online ${p.online}/${p.requested}  logons ${t.logonOk} (failed ${t.logonFailed})  sent ${t.messagesSent + t.channelMessagesSent}  delivered ${t.deliveriesReceived}  delivery p99 ${p.deliveryP99} ms  errors ${t.errors}`;
}
