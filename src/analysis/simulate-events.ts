/**
 * What a scenario's schedule makes happen, second by second of wall time, without endpoints:
 * logons, joins (and how many members each join is announced to), instant and channel messages
 * with their recipients, presence changes with the watchers they reach, logoffs. It walks the
 * same seeded WorkloadPlan the engine runs, so a prediction follows the run it predicts.
 */
import { WorkloadPlan } from '../scenarios/schedule.js';
import type { Scenario } from '../scenarios/schema.js';

/** Event counts in one wall second (index 0 = the first second of the run). */
export interface SecondEvents {
  online: number;
  logons: number;
  /** Contacts subscribed at logon (and dropped at logoff), summed over the users. */
  logonContacts: number;
  joins: number;
  /** Members already in a channel when someone joins (each is told; the joiner gets their names). */
  joinAudience: number;
  logoffs: number;
  logoffContacts: number;
  /** Members still in a leaver's channels (each is told of the QUIT). */
  logoffAudience: number;
  messages: number;
  /** Instant messages whose recipient was online (the others are undeliverable). */
  messageDeliveries: number;
  channelMessages: number;
  channelDeliveries: number;
  presenceChanges: number;
  presenceNotified: number;
}

export interface ProtocolAbilities {
  readonly channels: boolean;
  readonly presence: boolean;
}

export interface ScheduledTraffic {
  readonly seconds: readonly SecondEvents[];
  readonly rampUpEndSecond: number;
  readonly holdEndSecond: number;
  /** Recipients per channel message: mean and largest. */
  readonly fanOut: { readonly mean: number; readonly max: number };
}

const EMPTY: SecondEvents = {
  online: 0, logons: 0, logonContacts: 0, joins: 0, joinAudience: 0, logoffs: 0, logoffContacts: 0, logoffAudience: 0,
  messages: 0, messageDeliveries: 0, channelMessages: 0, channelDeliveries: 0, presenceChanges: 0, presenceNotified: 0,
};

/** Members of one channel by logon time, to count who is in it at any moment. */
class ChannelRoster {
  readonly members: number[] = [];
  readonly presenters = new Set<number>();
  private ins: Float64Array | undefined;
  private outs: Float64Array | undefined;

  constructor(readonly auditorium: boolean) {}

  seal(plan: WorkloadPlan, logonMs: number): void {
    this.ins = Float64Array.from(this.members.map((m) => plan.logonAt(m) + logonMs)).sort();
    this.outs = Float64Array.from(this.members.map((m) => plan.logoffAt(m))).sort();
  }

  /** Members present at `at` (logged on at or before, not yet logged off). */
  presentAt(at: number): number {
    return countAtMost(this.ins!, at) - countAtMost(this.outs!, at);
  }
}

function countAtMost(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `logonMs` is how long a logon takes: a user counts as online, joins its channels and can be
 * reached that long after its scheduled logon (the journal counts it then, too).
 */
export function scheduleTraffic(scenario: Scenario, abilities: ProtocolAbilities, logonMs = 0): ScheduledTraffic {
  const plan = new WorkloadPlan(scenario);
  const users = plan.users;
  const timeline = plan.timeline;
  const seconds: SecondEvents[] = Array.from({ length: Math.ceil(timeline.end / 1000) + 1 }, () => ({ ...EMPTY }));
  const at = (ms: number) => seconds[Math.min(seconds.length - 1, Math.floor(ms / 1000))]!;
  const online = (i: number, ms: number) => plan.logonAt(i) + logonMs <= ms && ms < plan.logoffAt(i);

  const rosters = new Map<string, ChannelRoster>();
  const channelsOf = Array.from({ length: users }, (_, i) => (abilities.channels ? plan.channelsOf(i) : []));
  channelsOf.forEach((channels, i) => {
    for (const c of channels) {
      const roster = rosters.get(c.name) ?? rosters.set(c.name, new ChannelRoster(c.auditorium)).get(c.name)!;
      roster.members.push(i);
      if (c.role === 'presenter') roster.presenters.add(i);
    }
  });
  for (const roster of rosters.values()) roster.seal(plan, logonMs);
  // In an auditorium, members see only the presenters: a listener's arrival or departure is
  // announced to the presenters alone, a presenter's to everyone.
  const audience = (roster: ChannelRoster, user: number, ms: number) => {
    if (roster.auditorium && !roster.presenters.has(user)) return [...roster.presenters].filter((p) => p !== user && online(p, ms)).length;
    return Math.max(0, roster.presentAt(ms) - 1);
  };

  let fanOutSum = 0;
  let fanOutMax = 0;
  for (let i = 0; i < users; i++) {
    const logon = plan.logonAt(i) + logonMs;
    const logoff = plan.logoffAt(i);
    const contacts = abilities.presence ? scenario.population.contacts : 0;
    const on = at(logon);
    on.logons++;
    on.logonContacts += contacts;
    for (const c of channelsOf[i]!) {
      on.joins++;
      on.joinAudience += audience(rosters.get(c.name)!, i, logon);
    }
    const off = at(logoff);
    off.logoffs++;
    off.logoffContacts += contacts;
    for (const c of channelsOf[i]!) off.logoffAudience += audience(rosters.get(c.name)!, i, logoff - 1e-6);
    for (let s = Math.floor(logon / 1000); s < Math.min(seconds.length, Math.floor(logoff / 1000)); s++) seconds[s]!.online++;

    const stream = plan.activity(i, { ...plan.identity(i), channels: channelsOf[i]! });
    for (let action = stream.next(); action; action = stream.next()) {
      const second = at(action.at);
      if (action.kind === 'message') {
        second.messages++;
        if (online(action.toIndex, action.at)) second.messageDeliveries++;
      } else if (action.kind === 'say') {
        const roster = rosters.get(action.channel.name)!;
        const recipients = action.channel.role === 'listener'
          ? [...roster.presenters].filter((p) => p !== i && online(p, action.at)).length
          : Math.max(0, roster.presentAt(action.at) - 1);
        second.channelMessages++;
        second.channelDeliveries += recipients;
        fanOutSum += recipients;
        fanOutMax = Math.max(fanOutMax, recipients);
      } else if (abilities.presence) {
        second.presenceChanges++;
        second.presenceNotified += plan.watchersOnline(i, action.at);
      }
    }
  }
  const channelMessages = seconds.reduce((n, s) => n + s.channelMessages, 0);
  return {
    seconds,
    rampUpEndSecond: Math.ceil(timeline.rampUpEnd / 1000),
    holdEndSecond: Math.ceil(timeline.holdEnd / 1000),
    fanOut: { mean: channelMessages > 0 ? fanOutSum / channelMessages : 0, max: fanOutMax },
  };
}
