/**
 * What a finished run measured that a sizing may use, by one rule for `imload plan --from-run`
 * and the report's sizing table (docs/capacity.md § Measured figures):
 *
 * - a per-server capacity only from a run that found one: a step search's knee (the last level
 *   that held, below one where the server broke), a "missed at N" verdict (the generator and the
 *   host healthy, or it would be not-reached or inconclusive), or a "met" verdict, which confirms
 *   the documented figure and no more. A run that held its SLOs at a load it chose (a demo)
 *   measured no capacity: its peak is what it asked for, not what the server can take;
 * - a per-user bandwidth only as a real-time figure: wall-clock at timeScale 1, the normalised
 *   figure otherwise. A compressed run's wall-clock figure is never set against a real-time one.
 */
import type { Summary } from './summary.js';

export interface MeasuredCapacity {
  /** Online users per server. */
  readonly perServer: number;
  /** What the figure is, for a provenance line. */
  readonly metric: string;
  readonly note: string;
}

export interface MeasuredBandwidth {
  /** Real-time kbit/s per online user. */
  readonly kbpsPerUser: number;
  readonly metric: string;
  readonly note: string;
}

export interface MeasuredFigures {
  readonly capacity: MeasuredCapacity | null;
  /** Why no capacity was measured (null when one was). */
  readonly capacityWhyNot: string | null;
  readonly bandwidth: MeasuredBandwidth | null;
  readonly bandwidthWhyNot: string | null;
}

type SummaryFigures = Pick<Summary, 'limits' | 'stepSearch' | 'generator' | 'users' | 'timeScale' | 'bandwidth'>;

export function measuredFigures(summary: SummaryFigures): MeasuredFigures {
  const capacity = measuredCapacity(summary);
  const bandwidth = measuredBandwidth(summary);
  return {
    capacity: 'perServer' in capacity ? capacity : null,
    capacityWhyNot: 'whyNot' in capacity ? capacity.whyNot : null,
    bandwidth: 'kbpsPerUser' in bandwidth ? bandwidth : null,
    bandwidthWhyNot: 'whyNot' in bandwidth ? bandwidth.whyNot : null,
  };
}

const fmt = (n: number) => n.toLocaleString('en');
/** A reason as a clause inside a sentence. */
const clause = (text: string) => text.trim().replace(/\.$/, '');

function measuredCapacity(summary: SummaryFigures): MeasuredCapacity | { whyNot: string } {
  const users = summary.limits?.verdicts.find((v) => v.metric === 'users.peakOnline');
  // Saturated deciding seconds void everything below, the step search's knee included.
  if (users?.verdict === 'inconclusive') return { whyNot: `its verdict ${users.id} is inconclusive: ${clause(users.reason)}` };
  if (summary.users.peakOnline === 0) return { whyNot: 'nobody was online' };
  const search = summary.stepSearch;
  if (search && search.brokeAt !== null) {
    if (search.gaveOut === 'generator') return { whyNot: `its step search ended when the load generator gave out (${clause(search.reason)}), not the server` };
    if (search.gaveOut === 'saturated') return { whyNot: `its step search broke while the host or a worker was saturated (${clause(search.reason)})` };
    if (search.sustainable === null) return { whyNot: `its step search broke at its first level (${fmt(search.brokeAt)} users): the knee lies below what it tried` };
    return {
      perServer: search.sustainable,
      metric: 'stepSearch.sustainable',
      note: `step search knee: every SLO held at ${fmt(search.sustainable)} users and broke at ${fmt(search.brokeAt)} (${search.gaveOut})`,
    };
  }
  if (users?.verdict === 'missed' && users.at !== undefined && !summary.generator.bottleneck) {
    return {
      perServer: users.at,
      metric: `limits.${users.id} missed at`,
      note: `the server missed the documented ${fmt(users.value)} at ${fmt(users.at)} users online with a healthy generator and host: one server holds fewer than that at this workload`,
    };
  }
  if (users?.verdict === 'met') {
    return {
      perServer: users.value,
      metric: `limits.${users.id} met`,
      note: `met the documented ${fmt(users.value)} ${users.unit}: confirms the documented figure, not a ceiling above it`,
    };
  }
  if (search) return { whyNot: `its step search never broke (${clause(search.reason)}): the server's knee lies above ${fmt(search.sustainable ?? 0)} users` };
  if (!users) return { whyNot: `it names no limit profile and searched no steps, so its peak of ${fmt(summary.users.peakOnline)} users is only the load it asked for` };
  return { whyNot: `its verdict ${users.id} is ${users.verdict === 'not-reached' ? 'not reached' : users.verdict}: ${clause(users.reason)}; a peak of ${fmt(summary.users.peakOnline)} users that held is the load it asked for, not the server's capacity` };
}

function measuredBandwidth(summary: SummaryFigures): MeasuredBandwidth | { whyNot: string } {
  if (summary.users.peakOnline === 0) return { whyNot: 'nobody was online' };
  const wallClock = summary.bandwidth.kbpsPerUser;
  if (summary.timeScale === 1) {
    return { kbpsPerUser: wallClock, metric: 'bandwidth.kbpsPerUser', note: `real time: wall-clock at timeScale 1 (${summary.bandwidth.window})` };
  }
  const normalised = summary.bandwidth.normalised;
  if (!normalised) {
    return { whyNot: `it ran at timeScale ${summary.timeScale} and has no normalised figure: its wall-clock ${wallClock} kbit/s is not comparable with a real-time one` };
  }
  return {
    kbpsPerUser: normalised.kbpsPerUser,
    metric: 'bandwidth.normalised.kbpsPerUser',
    note: `real time, normalised from timeScale ${summary.timeScale} (wall-clock ${wallClock} kbit/s; ${normalised.method})`,
  };
}
