/**
 * `imload simulate`: a scenario's traffic predicted from its schedule and a byte model, without
 * endpoints. Bytes split three ways because they normalise differently under timeScale
 * (docs/metrics.md § Compressed time): behaviour (messages, presence changes) is compressed,
 * sessions (logon, joins, logoff) happen once per user, timers (keep-alives, refreshes) run on
 * wall time.
 */
import type { Scenario } from '../scenarios/schema.js';
import { WorkloadPlan } from '../scenarios/schedule.js';
import { byteModelFor, eventBytes, forEachTimerFire, type ByteModel, type EventBytes } from '../analysis/simulate-bytes.js';
import { scheduleTraffic, type SecondEvents } from '../analysis/simulate-events.js';

export interface PredictedSecond {
  /** Journal numbering: second t covers (t − 1, t] of the run clock. */
  readonly t: number;
  readonly online: number;
  readonly messages: number;
  readonly deliveries: number;
  readonly behaviourBytes: number;
  readonly sessionBytes: number;
  readonly timerBytes: number;
}

export interface Prediction {
  readonly protocol: string;
  readonly byteModel: string;
  readonly timeScale: number;
  readonly users: number;
  readonly seconds: readonly PredictedSecond[];
  readonly totals: {
    readonly messages: number;
    readonly channelMessages: number;
    readonly deliveries: number;
    readonly undeliverable: number;
    readonly presenceChanges: number;
    readonly presenceNotified: number;
    readonly bytes: number;
  };
  /** Per requested user over the whole run. */
  readonly perUser: { readonly messagesSent: number; readonly bytes: number };
  /** Per online user per second over the hold phase (wall-clock, as measured). */
  readonly hold: {
    readonly seconds: number;
    readonly messagesPerUserSecond: number;
    readonly bytesPerUserSecond: number;
    readonly kbpsPerUser: number;
    /** The same with behaviour and session bytes spread over simulated time (timeScale). */
    readonly normalisedKbpsPerUser: number;
  };
  /** The logon storm: the busiest second of the ramp-up (until the last logon completes). */
  readonly rampUp: { readonly peakBytesPerSecond: number; readonly peakKbps: number; readonly peakLogonsPerSecond: number; readonly atSecond: number };
  readonly channelFanOut: { readonly mean: number; readonly max: number };
  /** Each-instance channels (unlinked servers): what posting to every instance adds; null when the mode is off. */
  readonly eachInstance: EachInstancePrediction | null;
}

/** The figures summary.json `eachInstance` measures, predicted (docs/topologies.md). */
export interface EachInstancePrediction {
  readonly servers: number;
  /** Channel posts beyond the first. */
  readonly extraPosts: number;
  /** Channel copies received beyond a message's first. */
  readonly extraCopies: number;
  readonly extraMessages: number;
  /** Bytes on users' connections to servers other than their own. */
  readonly extraBytes: number;
  /** extraBytes over the bytes of the users' own connections. */
  readonly extraBytesRatio: number | null;
}

export interface PredictOptions {
  readonly model?: ByteModel;
  /** How long a logon takes, ms (a measured logon mean; IRC servers often delay registration ~1 s). */
  readonly logonMs?: number;
  /** The target's servers when its network posts to each instance of a channel (network.channels: each-instance). */
  readonly eachInstanceServers?: number;
}

export function predictTraffic(scenario: Scenario, protocol: string, options: PredictOptions = {}): Prediction {
  const model = options.model ?? byteModelFor(protocol);
  const schedule = scheduleTraffic(scenario, { channels: model.channels, presence: model.presence }, options.logonMs ?? 0);
  const bytes = eventBytes(model, scenario);
  // Timers fire where the schedule puts them (a short run sees few); the normalised figure below
  // uses their steady rate instead.
  const timerBytes = new Float64Array(schedule.seconds.length);
  forEachTimerFire(new WorkloadPlan(scenario), model, options.logonMs ?? 0, (at, b) => {
    timerBytes[Math.min(timerBytes.length - 1, Math.floor(at / 1000))]! += b;
  });
  const instances = options.eachInstanceServers ?? 1;
  const split = schedule.seconds.map((events, i) => splitSecond(i + 1, events, bytes, timerBytes[i]!, instances));
  const seconds = split.map((s) => s.second);
  const sum = (pick: (e: SecondEvents) => number) => schedule.seconds.reduce((n, e) => n + pick(e), 0);
  const totalBytes = seconds.reduce((n, s) => n + s.behaviourBytes + s.sessionBytes + s.timerBytes, 0);
  const users = scenario.population.users;

  // Hold seconds as the journal labels them: after the ramp-up ends, up to the end of hold.
  const hold = seconds.filter((s) => s.t - 1 >= schedule.rampUpEndSecond && s.t <= schedule.holdEndSecond && s.online > 0);
  const holdUserSeconds = hold.reduce((n, s) => n + s.online, 0);
  const holdBytes = hold.reduce((n, s) => n + s.behaviourBytes + s.sessionBytes + s.timerBytes, 0);
  const holdCompressed = hold.reduce((n, s) => n + (s.behaviourBytes + s.sessionBytes) / scenario.timeScale + s.online * bytes.timerBytesPerUserSecond * instances, 0);
  const perUserSecond = (x: number) => (holdUserSeconds > 0 ? x / holdUserSeconds : 0);

  // The logon storm lasts the ramp-up plus the time the last logons take to complete.
  const ramp = seconds.slice(0, Math.max(1, schedule.rampUpEndSecond + 1 + Math.ceil((options.logonMs ?? 0) / 1000)));
  let peak = ramp[0]!;
  for (const s of ramp) if (secondBytes(s) > secondBytes(peak)) peak = s;
  return {
    protocol,
    byteModel: model.fittedAgainst,
    timeScale: scenario.timeScale,
    users,
    seconds,
    totals: {
      messages: sum((e) => e.messages),
      channelMessages: sum((e) => e.channelMessages),
      deliveries: sum((e) => e.messageDeliveries + e.channelDeliveries),
      undeliverable: sum((e) => e.messages - e.messageDeliveries),
      presenceChanges: sum((e) => e.presenceChanges),
      presenceNotified: sum((e) => e.presenceNotified),
      bytes: totalBytes,
    },
    perUser: { messagesSent: users > 0 ? sum((e) => e.messages + e.channelMessages) / users : 0, bytes: users > 0 ? totalBytes / users : 0 },
    hold: {
      seconds: hold.length,
      messagesPerUserSecond: perUserSecond(hold.reduce((n, s) => n + s.messages, 0)),
      bytesPerUserSecond: perUserSecond(holdBytes),
      kbpsPerUser: (perUserSecond(holdBytes) * 8) / 1000,
      normalisedKbpsPerUser: (perUserSecond(holdCompressed) * 8) / 1000,
    },
    rampUp: {
      peakBytesPerSecond: secondBytes(peak),
      peakKbps: (secondBytes(peak) * 8) / 1000,
      peakLogonsPerSecond: Math.max(0, ...schedule.seconds.slice(0, ramp.length).map((e) => e.logons)),
      atSecond: peak.t,
    },
    channelFanOut: schedule.fanOut,
    eachInstance: options.eachInstanceServers === undefined ? null : eachInstancePrediction(instances, sum((e) => e.channelMessages), sum((e) => e.channelDeliveries), split),
  };
}

function eachInstancePrediction(servers: number, channelMessages: number, channelDeliveries: number, split: readonly SplitSecond[]): EachInstancePrediction {
  const extraPosts = (servers - 1) * channelMessages;
  const extraCopies = (servers - 1) * channelDeliveries;
  const extraBytes = split.reduce((n, s) => n + s.extraBytes, 0);
  const ownBytes = split.reduce((n, s) => n + secondBytes(s.second), 0) - extraBytes;
  return { servers, extraPosts, extraCopies, extraMessages: extraPosts + extraCopies, extraBytes, extraBytesRatio: ownBytes > 0 ? extraBytes / ownBytes : null };
}

interface SplitSecond {
  readonly second: PredictedSecond;
  /** Of the second's bytes, those on users' connections to servers other than their own. */
  readonly extraBytes: number;
}

/**
 * One second's bytes over `instances` servers (1 unless each-instance). In the each-instance
 * mode (src/engine/each-instance.ts) a user logs on to every server, joins each channel on
 * each, posts every channel message to each instance and receives a copy from each, and keeps
 * every connection alive: those bytes are `instances` times one linked instance's, all but one
 * share on other servers' connections. Instant messages and presence go through the sender's
 * own server, so they cost what they cost linked; a delivery reaches its recipient on an extra
 * connection when the two users' own servers differ, (instances − 1) / instances of the time
 * with users spread evenly.
 */
function splitSecond(t: number, e: SecondEvents, b: EventBytes, timerBytes: number, instances: number): SplitSecond {
  const m = b.model;
  const channelBytes = e.channelMessages * b.channelMessage + e.channelDeliveries * b.channelDelivery;
  const perConnectionSession =
    e.logons * m.logon + e.joins * m.join + e.joinAudience * m.joinPerMember + e.logoffs * m.logoff + e.logoffAudience * m.logoffPerMember;
  const contactSession = e.logonContacts * m.logonPerContact + e.logoffContacts * m.logoffPerContact;
  const deliveryBytes = e.messageDeliveries * b.messageDelivery;
  const second: PredictedSecond = {
    t,
    online: e.online,
    messages: e.messages + e.channelMessages,
    deliveries: e.messageDeliveries + e.channelDeliveries,
    behaviourBytes:
      e.messages * b.message + deliveryBytes + instances * channelBytes + e.presenceChanges * m.presenceChange + e.presenceNotified * m.presenceNotify,
    sessionBytes: instances * perConnectionSession + contactSession,
    timerBytes: instances * timerBytes,
  };
  const others = instances - 1;
  const extraBytes = others * (channelBytes + perConnectionSession + timerBytes) + (others / instances) * deliveryBytes;
  return { second, extraBytes };
}

function secondBytes(s: PredictedSecond): number {
  return s.behaviourBytes + s.sessionBytes + s.timerBytes;
}
