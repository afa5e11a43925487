/**
 * Bandwidth per online user as the terminal and summary.md state it. A run at timeScale s sends
 * its behaviour traffic s times faster than real time, so only the normalised figure
 * (summary.json `bandwidth.normalised`) may stand beside the documented real-time figure; the
 * wall-clock figure of a compressed run is shown only labelled as such (docs/metrics.md).
 */
import { DOCUMENTED_KBPS_PER_USER } from './chart-specs.js';
import { formatNumber } from './format.js';
import type { Summary } from '../analysis/summary.js';

export interface PerUserBandwidth {
  /** kbit/s per online user in real time: measured at timeScale 1, normalised otherwise; null when there is none. */
  readonly realTime: number | null;
  /** kbit/s per online user per wall-clock second of the run. */
  readonly wallClock: number;
  /** The run compressed (or stretched) time: its wall-clock figure is not a real-time figure. */
  readonly compressed: boolean;
}

export function perUserBandwidth(summary: Pick<Summary, 'timeScale' | 'bandwidth'>): PerUserBandwidth {
  const compressed = summary.timeScale !== 1;
  const wallClock = summary.bandwidth.kbpsPerUser;
  return { realTime: compressed ? (summary.bandwidth.normalised?.kbpsPerUser ?? null) : wallClock, wallClock, compressed };
}

const kbps = (value: number) => `${formatNumber(value, 4)} kbit/s`;

/** One sentence: the real-time figure against the documented one, then the wall-clock figure, labelled. */
export function describePerUserBandwidth(summary: Pick<Summary, 'timeScale' | 'bandwidth'>): string {
  const b = perUserBandwidth(summary);
  const window = summary.bandwidth.window === 'hold' ? 'over the hold' : 'over the run';
  const documented = `documented ${formatNumber(DOCUMENTED_KBPS_PER_USER)} kbit/s real time`;
  if (!b.compressed) return `${kbps(b.wallClock)} per online user ${window} (timeScale 1: wall-clock is real time; ${documented})`;
  const wallClock = `wall-clock ${kbps(b.wallClock)} (time compressed ${formatNumber(summary.timeScale)}×: not a real-time figure)`;
  if (b.realTime === null) return `no real-time figure (nobody was online); ${wallClock}`;
  return `${kbps(b.realTime)} per online user in real time ${window} (normalised from timeScale ${formatNumber(summary.timeScale)}; ${documented}); ${wallClock}`;
}
