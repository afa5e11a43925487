/**
 * The deterministic workload: who logs on when, their contacts, channels and every scheduled
 * action. Everything about user i is a pure function of (scenario, seed, i): it never depends on
 * the number of workers, segments or hosts, so a run can be replayed and split exactly.
 */
import type { ChannelAssignment, PresenceState, VuIdentity } from '../protocols/types.js';
import { Random } from './random.js';
import type { Phase, Scenario } from './schema.js';
import type { UserGroup } from './flow-schema.js';
import { WatcherIndexBuilder } from './watchers.js';

export interface Timeline {
  /** Milliseconds from run start. */
  readonly rampUpEnd: number;
  readonly holdEnd: number;
  /** When the last user is scheduled to log off. */
  readonly end: number;
  readonly rampUpRate: number;
  readonly rampDownRate: number | undefined;
  /** rampUp's (or stepSearch's) maxInFlight; `auto` adapts (engine/logon-window.ts). */
  readonly maxLogonsInFlight: number | 'auto';
  readonly maxLogoffsInFlight: number | undefined;
  /** Present for a step search: the load levels and their measurement windows. */
  readonly steps?: readonly Step[];
}

/** One level of a step search. Times are ms from run start. */
export interface Step {
  /** Users online at this level (cumulative). */
  readonly level: number;
  /** First user index added by this step. */
  readonly firstIndex: number;
  readonly start: number;
  /** When this step's logons are scheduled to be done and its windows begin. */
  readonly rampEnd: number;
  readonly windows: ReadonlyArray<{ readonly start: number; readonly end: number }>;
}

function stepsOf(users: number, phase: Extract<Phase, { phase: 'stepSearch' }>): Step[] {
  const steps: Step[] = [];
  let start = 0;
  let previous = 0;
  for (let level = Math.min(phase.from, users); ; level = Math.min(level + phase.step, users)) {
    const rampEnd = start + ((level - previous) / phase.rate) * 1000;
    const windows = Array.from({ length: phase.windows }, (_, w) => ({
      start: rampEnd + w * phase.stepDuration,
      end: rampEnd + (w + 1) * phase.stepDuration,
    }));
    steps.push({ level, firstIndex: previous, start, rampEnd, windows });
    start = windows.at(-1)!.end;
    previous = level;
    if (level >= users) return steps;
  }
}

export function buildTimeline(scenario: Scenario): Timeline {
  const users = scenario.population.users;
  let rampUpRate = Number.POSITIVE_INFINITY;
  let maxLogonsInFlight: number | 'auto' = 'auto';
  let holdMs = 0;
  let rampDownRate: number | undefined;
  let maxLogoffsInFlight: number | undefined;
  for (const phase of scenario.phases) {
    if (phase.phase === 'rampUp') {
      rampUpRate = phase.rate;
      maxLogonsInFlight = phase.maxInFlight ?? 'auto';
    } else if (phase.phase === 'hold') holdMs += phase.duration;
    else if (phase.phase === 'rampDown') {
      rampDownRate = phase.rate;
      maxLogoffsInFlight = phase.maxInFlight;
    }
  }
  const search = scenario.phases.find((p) => p.phase === 'stepSearch');
  if (search?.phase === 'stepSearch') {
    const steps = stepsOf(users, search);
    const holdEnd = steps.at(-1)!.windows.at(-1)!.end;
    const end = rampDownRate ? holdEnd + ((users - 1) / rampDownRate) * 1000 : holdEnd;
    return { rampUpEnd: steps[0]!.rampEnd, holdEnd, end, rampUpRate: search.rate, rampDownRate, maxLogonsInFlight: search.maxInFlight ?? 'auto', maxLogoffsInFlight, steps };
  }
  const rampUpEnd = Number.isFinite(rampUpRate) ? ((users - 1) / rampUpRate) * 1000 : 0;
  const holdEnd = rampUpEnd + holdMs;
  const end = rampDownRate ? holdEnd + ((users - 1) / rampDownRate) * 1000 : holdEnd;
  return { rampUpEnd, holdEnd, end, rampUpRate, rampDownRate, maxLogonsInFlight, maxLogoffsInFlight };
}

/** Formats a user name from the population's pattern: `u{index:6}` → u000001 for user 0. */
export function userName(pattern: string, index: number): string {
  return pattern.replace(/\{index(?::(\d+))?\}/g, (_, width: string | undefined) =>
    String(index + 1).padStart(width ? Number(width) : 0, '0'),
  );
}

/** Which part of the population a process runs: segment (host) and worker within it. */
export interface PopulationPart {
  readonly segment: number;
  readonly segments: number;
  readonly worker: number;
  readonly workers: number;
}

export function ownsUser(index: number, part: PopulationPart): boolean {
  if (index % part.segments !== part.segment) return false;
  return Math.floor(index / part.segments) % part.workers === part.worker;
}

export function usersOf(total: number, part: PopulationPart): number[] {
  const out: number[] = [];
  for (let i = part.segment; i < total; i += part.segments) {
    if (Math.floor(i / part.segments) % part.workers === part.worker) out.push(i);
  }
  return out;
}

export class WorkloadPlan {
  readonly timeline: Timeline;
  private readonly zipfCumulative: Float64Array | undefined;
  private readonly presenterNames: readonly (readonly string[])[];

  constructor(readonly scenario: Scenario) {
    this.timeline = buildTimeline(scenario);
    const channels = scenario.population.channels;
    if (channels.spread === 'zipf' && channels.count > 0) {
      this.zipfCumulative = new Float64Array(channels.count);
      let sum = 0;
      for (let j = 0; j < channels.count; j++) this.zipfCumulative[j] = sum += 1 / (j + 1);
    }
    this.presenterNames = scenario.population.auditoriums.map((_, a) =>
      this.presenterIndices(a).map((i) => this.name(i)),
    );
  }

  get users(): number {
    return this.scenario.population.users;
  }

  name(index: number): string {
    if (index >= this.users) return userName(this.scenario.population.namePattern, index);
    // One string per name, shared by every contact list that names the user: a worker of a
    // 101,000-user run holds ~340,000 contact names (20 per user) but only ~98,000 distinct ones,
    // and each copy is 24 bytes of heap (heap snapshot of a SIP worker: 21 name strings per user).
    this.names ??= Array.from({ length: this.users }, () => undefined);
    return (this.names[index] ??= userName(this.scenario.population.namePattern, index));
  }

  /** Names made so far, by index (a packed array: 101,000 slots stay in V8's fast elements). */
  private names: Array<string | undefined> | undefined;

  /** Scheduled logon time of user i, ms from run start. */
  logonAt(index: number): number {
    const steps = this.timeline.steps;
    if (steps) {
      let step = steps[0]!;
      for (const candidate of steps) if (candidate.firstIndex <= index) step = candidate;
      return step.start + ((index - step.firstIndex) / this.timeline.rampUpRate) * 1000;
    }
    const rate = this.timeline.rampUpRate;
    return Number.isFinite(rate) ? (index / rate) * 1000 : 0;
  }

  logoffAt(index: number): number {
    const rate = this.timeline.rampDownRate;
    return rate ? this.timeline.holdEnd + (index / rate) * 1000 : this.timeline.holdEnd;
  }

  /** Window in which user i sends: from activity start until the drain before ramp-down. */
  activityWindow(index: number): { start: number; end: number } {
    const behaviour = this.scenario.behaviour;
    const base = behaviour.activityStart === 'rampUpEnd' ? this.timeline.rampUpEnd : this.logonAt(index);
    return { start: base + behaviour.activityDelay, end: this.timeline.holdEnd - behaviour.drain };
  }

  /** Auditorium a's presenters by population index (the loss analysis tells their audience apart). */
  presenterIndices(auditorium: number): number[] {
    const count = this.scenario.population.auditoriums[auditorium]!.presenters;
    const users = this.users;
    const first = (auditorium * count) % users;
    return Array.from({ length: Math.min(count, users) }, (_, k) => (first + k) % users);
  }

  identity(index: number, password?: string, sourceAddress?: string): VuIdentity {
    const contacts = this.contactIndices(index).map((i) => this.name(i));
    return {
      index,
      name: this.name(index),
      password,
      contacts,
      // Scripted users join only the channels their flow names.
      channels: this.groupOf(index) ? [] : this.channelsOf(index),
      sourceAddress,
    };
  }

  /** The scripted group user i belongs to (groups take users in order from index 0), if any. */
  groupOf(index: number): UserGroup | undefined {
    let first = 0;
    // Journals written before groups existed have none.
    for (const group of this.scenario.population.groups ?? []) {
      if (index < first + group.users) return group;
      first += group.users;
    }
    return undefined;
  }

  private watcherIndex: WatcherIndexBuilder | undefined;

  private watcherBuilder(kept?: (user: number) => boolean): WatcherIndexBuilder {
    this.watcherIndex ??= new WatcherIndexBuilder(this.users, this.scenario.population.contacts, (u) => this.contactIndices(u), kept);
    return this.watcherIndex;
  }

  /** Users who have user i among their contacts (they watch i's presence). */
  watchersOf(index: number): Int32Array {
    return this.watcherBuilder().watchersOf(index);
  }

  /**
   * Builds the watcher index ahead of its first use, a slice of users per event-loop turn (a
   * worker calls this at start when the run will count presence notifications, keeping only its
   * own users' watchers: `kept`). The first call decides what the index keeps.
   */
  prepareWatchers(sliceUsers = 1000, kept?: (user: number) => boolean): Promise<void> {
    return this.watcherBuilder(kept).buildInSlices(sliceUsers);
  }

  /**
   * How many of user i's watchers the schedule has online at `at` (ms from run start): the
   * presence notifications a change then should produce (of them, those `counted`).
   */
  watchersOnline(index: number, at: number, counted?: (watcher: number) => boolean): number {
    let online = 0;
    for (const w of this.watchersOf(index)) if (this.activityWindow(w).start <= at && at < this.logoffAt(w) && (counted === undefined || counted(w))) online++;
    return online;
  }

  /**
   * User i's contacts as population indices (the identity carries their names). The last list
   * drawn is kept and handed out again: a user's activity stream and presence correlator keep it
   * for the whole run and ask one after the other, so they share one array (360 bytes a user
   * each when drawn apart, in a SIP worker's heap snapshot).
   */
  contactIndices(index: number): readonly number[] {
    if (this.lastContacts?.index !== index) {
      const drawn = new Random(this.scenario.seed, index, 'contacts').sampleDistinct(this.users, this.scenario.population.contacts, index);
      this.lastContacts = { index, contacts: drawn };
    }
    return this.lastContacts.contacts;
  }

  private lastContacts: { readonly index: number; readonly contacts: readonly number[] } | undefined;

  /**
   * User i's channels in join order: auditoriums it presents, ordinary channels, then
   * auditoriums it listens to — so hosts are usually in before their audience arrives.
   */
  channelsOf(index: number): ChannelAssignment[] {
    const { population, seed } = this.scenario;
    const out: ChannelAssignment[] = [];
    const listening: ChannelAssignment[] = [];
    const name = this.name(index);
    population.auditoriums.forEach((auditorium, a) => {
      const presenters = this.presenterNames[a]!;
      if (presenters.includes(name)) {
        out.push({ name: auditorium.name, role: 'presenter', auditorium: true, presenters });
      } else if (new Random(seed, index, 'auditorium', a).next() < auditorium.listeners) {
        listening.push({ name: auditorium.name, role: 'listener', auditorium: true, presenters });
      }
    });
    const channels = population.channels;
    if (channels.count > 0) {
      const rng = new Random(seed, index, 'channels');
      const wanted = Math.min(rng.int(channels.perUser.min, Math.max(channels.perUser.min, channels.perUser.max)), channels.count);
      const picked = new Set<number>();
      for (let guard = 0; picked.size < wanted && guard < wanted * 50; guard++) picked.add(this.pickChannel(rng));
      for (let j = 0; j < channels.count && picked.size < wanted; j++) picked.add(j);
      for (const j of [...picked].sort((x, y) => x - y)) {
        out.push({ name: `${channels.prefix}${String(j + 1).padStart(3, '0')}`, role: 'member', auditorium: false, presenters: [] });
      }
    }
    return [...out, ...listening];
  }

  private pickChannel(rng: Random): number {
    const count = this.scenario.population.channels.count;
    if (!this.zipfCumulative) return rng.int(0, count - 1);
    const target = rng.next() * this.zipfCumulative[count - 1]!;
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.zipfCumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The stream of actions user i takes, in time order. */
  activity(index: number, identity: VuIdentity): ActivityStream {
    return new ActivityStream(this, index, identity);
  }
}

/** `text`: words a scripted or replayed user says (after the correlation stamp); else filler. */
export type Action =
  | { readonly kind: 'message'; readonly at: number; readonly to: string; readonly toIndex: number; readonly text?: string }
  | { readonly kind: 'say'; readonly at: number; readonly channel: ChannelAssignment; readonly text?: string }
  | { readonly kind: 'presence'; readonly at: number; readonly state: PresenceState };

/**
 * Three independent Poisson processes per user (instant messages, channel messages, presence
 * changes), each from its own seeded stream so changing one rate never shifts the others.
 * Rates are per simulated hour; `timeScale` compresses them into wall time.
 */
export class ActivityStream {
  // A stream whose rate is 0 never draws, so it gets no generator (56 bytes a user: SIP and RVP
  // users have no channels); the others' sequences do not depend on it.
  private readonly imRng: Random | undefined;
  private readonly sayRng: Random | undefined;
  private readonly presenceRng: Random | undefined;
  private readonly imRate: number;
  private readonly sayRate: number;
  private readonly presenceRate: number;
  private nextIm: number;
  private nextSay: number;
  private nextPresence: number;
  private presence: PresenceState = 'online';
  private readonly end: number;
  private readonly speakingChannels: readonly ChannelAssignment[];
  private readonly contactIndices: readonly number[];

  constructor(plan: WorkloadPlan, index: number, private readonly identity: VuIdentity) {
    this.contactIndices = plan.contactIndices(index);
    const { seed, behaviour, timeScale } = plan.scenario;
    const window = plan.activityWindow(index);
    this.end = window.end;
    const perMs = timeScale / 3_600_000;
    this.imRate = identity.contacts.length > 0 ? behaviour.messagesPerHour * perMs : 0;
    const presenting = identity.channels.some((c) => c.role === 'presenter');
    this.speakingChannels = identity.channels;
    const sayPerHour = presenting ? behaviour.presenterMessagesPerHour : behaviour.channelMessagesPerHour;
    this.sayRate = identity.channels.length > 0 ? sayPerHour * perMs : 0;
    this.presenceRate = behaviour.presenceChangesPerHour * perMs;
    this.imRng = this.imRate > 0 ? new Random(seed, index, 'im') : undefined;
    this.sayRng = this.sayRate > 0 ? new Random(seed, index, 'say') : undefined;
    this.presenceRng = this.presenceRate > 0 ? new Random(seed, index, 'presence') : undefined;
    this.nextIm = gap(this.imRng, this.imRate, window.start);
    this.nextSay = gap(this.sayRng, this.sayRate, window.start);
    this.nextPresence = gap(this.presenceRng, this.presenceRate, window.start);
  }

  /** The next action, or undefined once the activity window is over. */
  next(): Action | undefined {
    const at = Math.min(this.nextIm, this.nextSay, this.nextPresence);
    if (at >= this.end) return undefined;
    if (at === this.nextIm) {
      const pick = this.imRng!.int(0, this.identity.contacts.length - 1);
      this.nextIm = gap(this.imRng, this.imRate, at);
      return { kind: 'message', at, to: this.identity.contacts[pick]!, toIndex: this.contactIndices[pick]! };
    }
    if (at === this.nextSay) {
      const channel = this.speakingChannels[this.sayRng!.int(0, this.speakingChannels.length - 1)]!;
      this.nextSay = gap(this.sayRng, this.sayRate, at);
      return { kind: 'say', at, channel };
    }
    const choices = (['online', 'away', 'busy'] as const).filter((s) => s !== this.presence);
    this.presence = choices[this.presenceRng!.int(0, choices.length - 1)]!;
    this.nextPresence = gap(this.presenceRng, this.presenceRate, at);
    return { kind: 'presence', at, state: this.presence };
  }
}

/** The next event of a Poisson stream after `from`; never, for a stream of rate 0 (which has no generator). */
function gap(rng: Random | undefined, ratePerMs: number, from: number): number {
  return rng !== undefined ? from + rng.exponential(ratePerMs) : Number.POSITIVE_INFINITY;
}
