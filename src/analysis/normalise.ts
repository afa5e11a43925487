/**
 * Bandwidth per user normalised back to real time (docs/metrics.md § Compressed time).
 *
 * At timeScale s a wall second of the run stands for s simulated seconds. Behaviour traffic
 * (messages, presence changes) was compressed s-fold; session traffic (logon, joins, logoff)
 * happens once per user however long the session, so per simulated second it is also 1/s of what
 * was measured; timers (keep-alives, PINGs, registration/lease/subscription refreshes) run on
 * wall time and are not compressed. So, per online user and simulated second:
 *
 *   normalised = (behaviour + session) / (s × user-seconds) + timer rate
 *
 * The journal counts events per second but bytes only in total, so the split comes from the byte
 * model (simulate-bytes.ts) applied to the measured event counters, then scaled so the three parts
 * add up to the bytes actually measured (the model is calibrated on this run). A short run sees
 * few or no timers fire, so the timer rate is the model's steady-state rate, scaled the same way.
 */
import type { JournalEntry, JournalHeader, JournalSecond } from '../metrics/journal.js';
import { WorkloadPlan } from '../scenarios/schedule.js';
import type { Scenario } from '../scenarios/schema.js';
import { byteModelFor, eventBytes, forEachTimerFire, type ByteModel } from './simulate-bytes.js';
import { scheduleTraffic } from './simulate-events.js';

export interface NormalisedBandwidth {
  readonly timeScale: number;
  readonly window: 'hold' | 'run';
  /** Sum over the window's seconds of users online. */
  readonly userSeconds: number;
  readonly bytes: number;
  /**
   * The measured bytes split by what drives them (they add up to `bytes`); null at timeScale 1,
   * where nothing needs normalising and the split is not computed.
   */
  readonly behaviourBytes: number | null;
  readonly sessionBytes: number | null;
  readonly timerBytes: number | null;
  /** Measured bytes over modelled bytes in the window: 1 = the model explains the run exactly. */
  readonly modelScale: number | null;
  readonly wallClockKbpsPerUser: number;
  /** Steady-state timer traffic per online user (keep-alives, refreshes), kbit/s. */
  readonly timerKbpsPerUser: number | null;
  readonly normalisedKbpsPerUser: number;
  readonly method: string;
}

/**
 * The journal's seconds as normaliseBandwidth reads them, summed as they arrive: the live page
 * keeps one for the whole run instead of the seconds (a JournalSecond with its histograms weighs
 * far more than these sums, and an eight-hour run has 28,800 of them).
 */
export class BandwidthWindows {
  /** Every second with users online. */
  private readonly all = new WindowSums();
  /** The hold's seconds with users online: the window used when the run has a hold. */
  private readonly hold = new WindowSums();

  add(second: JournalSecond): void {
    if (second.online <= 0) return;
    this.all.add(second);
    if (second.phase === 'hold') this.hold.add(second);
  }

  normalise(header: JournalHeader, model?: ByteModel): NormalisedBandwidth {
    const window = this.hold.seconds > 0 ? 'hold' : 'run';
    return normaliseWindow(header, window, window === 'hold' ? this.hold : this.all, model);
  }
}

class WindowSums {
  seconds = 0;
  userSeconds = 0;
  first = 0;
  last = 0;
  readonly counters: Partial<Record<keyof JournalSecond['counters'], number>> = {};

  add(second: JournalSecond): void {
    if (this.seconds === 0) this.first = second.t;
    this.last = second.t;
    this.seconds++;
    this.userSeconds += second.online;
    for (const name in second.counters) {
      const key = name as keyof JournalSecond['counters'];
      this.counters[key] = (this.counters[key] ?? 0) + (second.counters[key] ?? 0);
    }
  }
}

export function normaliseBandwidth(entries: readonly JournalEntry[], model?: ByteModel): NormalisedBandwidth {
  const windows = new BandwidthWindows();
  for (const entry of entries) if (entry.type === 'second') windows.add(entry);
  return windows.normalise(entries[0] as JournalHeader, model);
}

function normaliseWindow(header: JournalHeader, window: 'hold' | 'run', sums: WindowSums, model?: ByteModel): NormalisedBandwidth {
  const scenario = header.scenario as Scenario;
  const userSeconds = sums.userSeconds;
  const count = (name: keyof JournalSecond['counters']) => sums.counters[name] ?? 0;
  const bytes = count('bytesIn') + count('bytesOut');
  const kbps = (b: number) => (userSeconds > 0 ? (b * 8) / 1000 / userSeconds : 0);
  const timeScale = scenario.timeScale;
  const wallClockKbpsPerUser = kbps(bytes);
  if (timeScale === 1) {
    const none = { behaviourBytes: null, sessionBytes: null, timerBytes: null, modelScale: null, timerKbpsPerUser: null };
    return { timeScale, window, userSeconds, bytes, ...none, wallClockKbpsPerUser, normalisedKbpsPerUser: wallClockKbpsPerUser, method: 'timeScale 1: measured wall-clock is real time' };
  }

  const byteModel = model ?? byteModelFor(header.target.protocol);
  const per = eventBytes(byteModel, scenario);
  const contacts = byteModel.presence ? scenario.population.contacts : 0;
  const messages = count('messagesSent');
  const imDeliveries = Math.min(count('deliveriesReceived'), messages);
  const behaviour =
    messages * per.message +
    imDeliveries * per.messageDelivery +
    count('channelMessagesSent') * per.channelMessage +
    (count('deliveriesReceived') - imDeliveries) * per.channelDelivery +
    count('presenceChanges') * byteModel.presenceChange +
    count('presenceSeen') * byteModel.presenceNotify;
  const audience = count('joinsOk') + count('logoffs') > 0 && byteModel.channels ? meanAudience(scenario) : { join: 0, logoff: 0 };
  const session =
    count('logonOk') * (byteModel.logon + contacts * byteModel.logonPerContact) +
    count('joinsOk') * (byteModel.join + audience.join * byteModel.joinPerMember) +
    count('logoffs') * (byteModel.logoff + contacts * byteModel.logoffPerContact + audience.logoff * byteModel.logoffPerMember);
  const timer = timerFiresBytes(scenario, byteModel, (sums.first - 1) * 1000, sums.last * 1000);
  const modelled = behaviour + session + timer;
  const modelScale = modelled > 0 ? bytes / modelled : 1;
  const timerKbpsPerUser = (per.timerBytesPerUserSecond * modelScale * 8) / 1000;
  const split = { behaviourBytes: behaviour * modelScale, sessionBytes: session * modelScale, timerBytes: timer * modelScale };
  return {
    timeScale,
    window,
    userSeconds,
    bytes,
    ...split,
    modelScale,
    wallClockKbpsPerUser,
    timerKbpsPerUser,
    normalisedKbpsPerUser: kbps((split.behaviourBytes + split.sessionBytes) / timeScale) + (userSeconds > 0 ? timerKbpsPerUser : 0),
    method: `behaviour and session bytes ÷ ${timeScale}, plus steady-state timer traffic; split by the ${byteModel.protocol} byte model (${byteModel.fittedAgainst}) scaled ×${modelScale.toFixed(3)} to the measured bytes`,
  };
}

/** Members told of a join or a logoff, on average, in this scenario's schedule. */
function meanAudience(scenario: Scenario): { join: number; logoff: number } {
  let joins = 0;
  let logoffs = 0;
  let joinAudience = 0;
  let logoffAudience = 0;
  for (const s of scheduleTraffic(scenario, { channels: true, presence: false }).seconds) {
    joins += s.joins;
    joinAudience += s.joinAudience;
    logoffs += s.logoffs;
    logoffAudience += s.logoffAudience;
  }
  return { join: joins > 0 ? joinAudience / joins : 0, logoff: logoffs > 0 ? logoffAudience / logoffs : 0 };
}

/** Timer bytes the schedule puts inside [from, to) ms. */
function timerFiresBytes(scenario: Scenario, model: ByteModel, from: number, to: number): number {
  let total = 0;
  if (model.timers.length > 0 && to > from) {
    forEachTimerFire(new WorkloadPlan(scenario), model, 0, (at, bytes) => {
      if (at >= from && at < to) total += bytes;
    });
  }
  return total;
}
