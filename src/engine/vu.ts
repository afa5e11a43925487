/**
 * One virtual user's life: log on at its scheduled time, join its channels, act on its schedule,
 * log off. Protocol-neutral: everything protocol-specific is behind `VirtualUser`.
 */
import type { ChannelAssignment, PresenceState, ProtocolAgent, VirtualUser, VuEvents, VuIdentity } from '../agents/types.js';
import { AgentError } from '../agents/types.js';
import { withDeadline } from '../agents/deadline.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import { Random } from '../scenarios/random.js';
import type { Action, WorkloadPlan } from '../scenarios/schedule.js';
import type { EventRecorder, RecordedAction, RecordedEvent } from './recording.js';
import { ReplayStream, type ActionSource } from './replay.js';
import { Vu } from './vu-api.js';
import { runFlow } from './flow.js';
import type { ScriptEvent } from './expectations.js';
import { Inbox } from './inbox.js';
import { PresenceCorrelator } from './presence-correlation.js';
import { formatStamp, messageBody, TO_CHANNEL, TO_PRESENTERS } from './stamp.js';

export type { ScriptEvent };
import type { Scheduler } from './scheduler.js';
import type { Semaphore } from './semaphore.js';

export interface WorkerContext {
  readonly plan: WorkloadPlan;
  readonly agent: ProtocolAgent;
  readonly metrics: MetricsRecorder;
  readonly scheduler: Scheduler;
  readonly logons: Semaphore;
  readonly logoffs: Semaphore;
  readonly startEpochMs: number;
  /** Epoch ms with sub-ms precision, comparable across processes on one host. */
  now(): number;
  note(key: string, text: string): void;
  readonly stopping: boolean;
  /** Writes events.ndjson.gz (what each user did and when). */
  readonly recorder?: EventRecorder;
  /** The scenario module's user function (TypeScript scenarios), run for users outside YAML groups. */
  readonly userScript?: (vu: Vu) => Promise<void>;
  /** Replaying a recording: each user's recorded events, and the speed-up. */
  readonly replay?: { readonly events: ReadonlyMap<number, readonly RecordedEvent[]>; readonly speed: number };
}

type VuState = 'waiting' | 'connecting' | 'online' | 'leaving' | 'gone';

const NO_ACTIONS: ActionSource = { next: () => undefined };

/** The stamp, then the user's own words (scripted or replayed) or the scenario's filler. */
function body(stamp: string, text: string | undefined, fillerBytes: number): string {
  return text !== undefined ? `${stamp} ${text}` : messageBody(stamp, fillerBytes);
}

export class VuRunner implements VuEvents {
  private state: VuState = 'waiting';
  private user: VirtualUser | undefined;
  private seq = 0;
  private attempts = 0;
  private readonly activity: ActionSource;
  private readonly replayed: ReplayStream | undefined;
  private activityStarted = false;
  /** When the user last became ready: actions due before it were late because of the logon. */
  private readyAt = 0;
  /** Channels a script joined beyond the schedule's. */
  private readonly scriptedChannels: ChannelAssignment[] = [];
  private readonly inbox: Inbox;

  constructor(
    private readonly ctx: WorkerContext,
    readonly identity: VuIdentity,
  ) {
    const recorded = ctx.replay?.events.get(identity.index);
    this.replayed = recorded && ctx.replay ? new ReplayStream(recorded, ctx.replay.speed, identity) : undefined;
    // Replays and user scripts change presence off the seeded schedule: stamps alone measure them.
    const correlator = ctx.replay || ctx.userScript ? undefined : new PresenceCorrelator(ctx.plan, identity, ctx.startEpochMs);
    this.inbox = new Inbox(ctx.metrics, identity, this, correlator, (key, text) => ctx.note(key, text));
    const scripted = ctx.plan.groupOf(identity.index) !== undefined || ctx.userScript !== undefined;
    this.activity = this.replayed ?? (scripted ? NO_ACTIONS : ctx.plan.activity(identity.index, identity));
  }

  private record(event: RecordedAction): void {
    this.ctx.recorder?.record({ u: this.identity.index, t: Math.round(this.ctx.now() - this.ctx.startEpochMs), ...event } as RecordedEvent);
  }

  get online(): boolean {
    return this.state === 'online';
  }

  get active(): boolean {
    return this.state === 'online' || this.state === 'connecting';
  }

  start(): void {
    const { plan, scheduler, startEpochMs } = this.ctx;
    if (this.ctx.replay) {
      // A replay starts only the users the recording has, at their recorded times.
      if (this.replayed?.logonAt === undefined) return;
      scheduler.at(startEpochMs + this.replayed.logonAt, () => void this.logon());
      if (this.replayed.logoffAt !== undefined) scheduler.at(startEpochMs + this.replayed.logoffAt, () => void this.logoff());
      return;
    }
    const script = this.script();
    scheduler.at(startEpochMs + plan.logonAt(this.identity.index), () => void (script ? this.runScript(script) : this.logon()));
    scheduler.at(startEpochMs + plan.logoffAt(this.identity.index), () => void this.logoff());
  }

  /** A YAML flow for this user's group, else the scenario module's user function, if any. */
  private script(): ((vu: Vu) => Promise<void>) | undefined {
    const group = this.ctx.plan.groupOf(this.identity.index);
    if (group) return (vu) => runFlow(vu, group.flow);
    return this.ctx.userScript;
  }

  private async runScript(script: (vu: Vu) => Promise<void>): Promise<void> {
    try {
      await script(new Vu(this));
      this.ctx.metrics.add('flowsCompleted');
    } catch (error) {
      this.error('script-error', (error as Error).message);
    }
  }

  private async logon(): Promise<void> {
    if (this.ctx.stopping || this.state !== 'waiting') return;
    const { metrics, agent, plan } = this.ctx;
    const behaviour = plan.scenario.behaviour;
    const scheduledAt = this.ctx.startEpochMs + (this.replayed?.logonAt ?? plan.logonAt(this.identity.index));
    this.state = 'connecting';
    await this.ctx.logons.acquire();
    const startedAt = this.ctx.now();
    this.record({ k: 'logon' });
    if (this.attempts === 0) metrics.latency('logonDelay', startedAt - scheduledAt);
    metrics.add('logonAttempts');
    const user = agent.createUser(this.identity, this);
    this.user = user;
    try {
      await withDeadline(user.logon(), behaviour.logonTimeout, 'logon-timeout', 'logon');
      for (const channel of this.identity.channels) await this.joinOne(user, channel);
    } catch (error) {
      this.ctx.logons.release();
      if (this.state !== 'connecting') return; // logged off or stopped while logging on
      metrics.add('logonFailed');
      this.error(error instanceof AgentError ? error.kind : 'logon-failed', (error as Error).message);
      user.destroy();
      this.user = undefined;
      this.state = 'waiting';
      this.retryLater();
      return;
    }
    this.ctx.logons.release();
    if (this.state !== 'connecting' || this.ctx.stopping) {
      // Stopped or dropped while logging on: leave without counting the user online.
      if (this.state === 'connecting') user.destroy();
      return;
    }
    metrics.latency('logon', this.ctx.now() - startedAt);
    metrics.add('logonOk');
    metrics.online++;
    this.readyAt = this.ctx.now();
    this.state = 'online';
    this.attempts = 0;
    if (!this.activityStarted) {
      this.activityStarted = true;
      this.scheduleNext();
    }
  }

  private async joinOne(user: VirtualUser, channel: ChannelAssignment): Promise<boolean> {
    const joinStart = this.ctx.now();
    try {
      await withDeadline(user.join(channel), this.ctx.plan.scenario.behaviour.joinTimeout, 'join-timeout', `join ${channel.name}`);
      this.record({ k: 'join', ch: channel.name });
      this.ctx.metrics.add('joinsOk');
      this.ctx.metrics.latency('join', this.ctx.now() - joinStart);
      return true;
    } catch (error) {
      this.ctx.metrics.add('joinsFailed');
      this.error(error instanceof AgentError ? error.kind : 'join-failed', (error as Error).message);
      return false;
    }
  }

  // ---- operations for scripted users (YAML flows, the TypeScript API) ----

  /** Logs on now; true once online. */
  async logonNow(): Promise<boolean> {
    if (this.state === 'waiting') await this.logon();
    return this.state === 'online';
  }

  async joinChannel(name: string): Promise<boolean> {
    const user = this.user;
    if (this.state !== 'online' || !user) {
      this.error('not-logged-on', `join ${name} before logon`);
      return false;
    }
    const channel = this.channel(name) ?? { name, role: 'member' as const, auditorium: false, presenters: [] };
    const ok = await this.joinOne(user, channel);
    if (ok && !this.channel(name)) this.scriptedChannels.push(channel);
    return ok;
  }

  async partChannel(name: string): Promise<void> {
    const channel = this.channel(name);
    if (!channel || !this.user || this.state !== 'online') return;
    await this.user.part(channel);
    this.record({ k: 'part', ch: name });
    const at = this.scriptedChannels.indexOf(channel);
    if (at !== -1) this.scriptedChannels.splice(at, 1);
  }

  /** Ms since the run started: the scheduled time of an action a script takes now. */
  sinceStart(): number {
    return this.ctx.now() - this.ctx.startEpochMs;
  }

  get runSeed(): number {
    return this.ctx.plan.scenario.seed;
  }

  /** Resolves true when a received message or presence change matches, false after `withinMs`. */
  expect(match: (event: ScriptEvent) => boolean, withinMs: number): Promise<boolean> {
    return this.inbox.expectations.wait(match, withinMs, (ok) => {
      this.ctx.metrics.add(ok ? 'expectsMet' : 'expectsFailed');
      if (!ok) this.error('expect-timeout', `nothing matched within ${withinMs} ms`);
    });
  }

  /** Reconnect with exponential backoff and seeded jitter, so a restarted server sees no herd. */
  private retryLater(): void {
    const { plan, scheduler } = this.ctx;
    const reconnect = plan.scenario.behaviour.reconnect;
    const now = this.ctx.now();
    if (!reconnect.enabled || this.ctx.stopping || this.attempts >= reconnect.maxAttempts) {
      this.state = 'gone';
      return;
    }
    if (now >= this.ctx.startEpochMs + plan.logoffAt(this.identity.index)) {
      this.state = 'gone';
      return;
    }
    const base = Math.min(reconnect.maxDelay, reconnect.initialDelay * 2 ** this.attempts);
    const jitter = 0.5 + new Random(plan.scenario.seed, this.identity.index, 'reconnect', this.attempts).next();
    this.attempts++;
    this.ctx.metrics.add('reconnects');
    this.state = 'waiting';
    scheduler.at(now + base * jitter, () => void this.logon());
  }

  private scheduleNext(): void {
    const action = this.activity.next();
    if (!action) return;
    this.ctx.scheduler.at(this.ctx.startEpochMs + action.at, () => void this.perform(action));
  }

  private async perform(action: Action): Promise<void> {
    this.scheduleNext();
    await this.act(action);
  }

  /** Sends one message, channel message or presence change, stamped with its scheduled time. */
  async act(action: Action): Promise<void> {
    const user = this.user;
    if (this.state !== 'online' || !user) {
      if (this.state !== 'gone') this.error('sender-offline', 'a scheduled action came due while the user was not logged on');
      return;
    }
    const { metrics, plan } = this.ctx;
    const scheduledAt = this.ctx.startEpochMs + action.at;
    // sendLag measures the generator; an action due while its user was still logging on was
    // late because of the server, and that already shows in its delivery latency.
    if (scheduledAt >= this.readyAt) metrics.latency('sendLag', this.ctx.now() - scheduledAt);
    const fillerBytes = plan.scenario.behaviour.messageBytes;
    try {
      if (action.kind === 'message') {
        const text = body(formatStamp(this.identity.index, ++this.seq, scheduledAt, action.toIndex), action.text, fillerBytes);
        this.record({ k: 'message', to: action.to, toIndex: action.toIndex, text: action.text });
        const outcome = await user.message(action.to, text);
        metrics.add('messagesSent');
        if (outcome.ok) metrics.add('deliveriesExpected', outcome.recipients ?? 1);
        else this.failedSend(outcome.reason, outcome.detail);
      } else if (action.kind === 'say') {
        const audience = action.channel.role === 'listener' ? 'presenters' : 'all';
        const to = audience === 'presenters' ? TO_PRESENTERS : TO_CHANNEL;
        const text = body(formatStamp(this.identity.index, ++this.seq, scheduledAt, to), action.text, fillerBytes);
        this.record({ k: 'say', ch: action.channel.name, text: action.text });
        const outcome = await user.say(action.channel, text, audience);
        metrics.add('channelMessagesSent');
        if (outcome.ok) metrics.add('deliveriesExpected', outcome.recipients ?? 0);
        else this.failedSend(outcome.reason, outcome.detail);
      } else if (this.ctx.agent.capabilities.presence) {
        await this.changePresence(user, action.state, scheduledAt);
      }
    } catch (error) {
      metrics.add('sendsFailed');
      this.error(error instanceof AgentError ? error.kind : 'send-failed', (error as Error).message);
    }
  }

  private async changePresence(user: VirtualUser, state: PresenceState, scheduledAt: number): Promise<void> {
    const note = formatStamp(this.identity.index, ++this.seq, scheduledAt, TO_CHANNEL);
    this.record({ k: 'presence', state });
    await user.setPresence(state, note);
    this.ctx.metrics.add('presenceChanges');
    this.ctx.metrics.add('presenceExpected', this.ctx.plan.watchersOnline(this.identity.index, scheduledAt - this.ctx.startEpochMs));
  }

  private failedSend(reason: string, detail?: string): void {
    if (reason === 'offline') this.ctx.metrics.add('undeliverable');
    else {
      this.ctx.metrics.add('sendsFailed');
      this.error(reason === 'timeout' ? 'send-timeout' : 'send-rejected', detail);
    }
  }

  async logoff(): Promise<void> {
    const user = this.user;
    // A run that stops while this user is logging off waits for that logoff (bounded below)
    // instead of treating the user as gone and destroying it mid-way.
    if (this.state === 'leaving') return this.leaving;
    if (this.state === 'connecting') {
      this.state = 'gone';
      user?.destroy();
      return;
    }
    if (this.state !== 'online' || !user) {
      this.state = 'gone';
      return;
    }
    this.state = 'leaving';
    this.leaving = this.leave(user);
    return this.leaving;
  }

  private leaving: Promise<void> | undefined;
  /** Leaving, but waiting for a logoff slot (rampDown maxInFlight): still online until it starts. */
  private waitingToLeave = false;

  private async leave(user: VirtualUser): Promise<void> {
    this.waitingToLeave = true;
    await this.ctx.logoffs.acquire();
    this.waitingToLeave = false;
    if (this.state !== 'leaving') {
      // Destroyed while waiting its turn (the run ended).
      this.ctx.logoffs.release();
      return;
    }
    this.ctx.metrics.online--;
    this.record({ k: 'logoff' });
    try {
      await withDeadline(user.logoff(), 5000, 'logoff-timeout', 'logoff');
      this.ctx.metrics.add('logoffs');
    } catch (error) {
      // Cut off by the run's end (destroy() while in flight): counted by the worker, not an error.
      if (this.state === 'leaving') {
        this.error(error instanceof AgentError ? error.kind : 'logoff-failed', (error as Error).message);
        user.destroy();
      }
    } finally {
      this.ctx.logoffs.release();
    }
    this.state = 'gone';
  }

  /** A logoff is on the wire (not waiting for a slot): destroy() now would cut it off. */
  get loggingOff(): boolean {
    return this.state === 'leaving' && !this.waitingToLeave;
  }

  /** Run abort: drop the connection without ceremony. */
  destroy(): void {
    if (this.state === 'online' || (this.state === 'leaving' && this.waitingToLeave)) this.ctx.metrics.online--;
    this.state = 'gone';
    this.user?.destroy();
  }

  // ---- VuEvents: called by the agent ----

  bytes(inBytes: number, outBytes: number): void {
    if (inBytes) this.ctx.metrics.add('bytesIn', inBytes);
    if (outBytes) this.ctx.metrics.add('bytesOut', outBytes);
  }

  message(from: string, text: string, receivedAt: number, channel?: string): void {
    this.inbox.message(from, text, receivedAt, channel);
  }

  channelNamed(name: string): ChannelAssignment | undefined {
    return this.channel(name);
  }

  /** A user name's population index (names come from the pattern), or -1. */
  indexOf(name: string): number {
    const at = this.identity.contacts.indexOf(name);
    if (at !== -1) return this.ctx.plan.contactIndices(this.identity.index)[at]!;
    for (let i = 0; i < this.ctx.plan.users; i++) if (this.ctx.plan.name(i) === name) return i;
    return -1;
  }

  private channel(name: string): ChannelAssignment | undefined {
    const lower = name.toLowerCase();
    return this.identity.channels.find((c) => c.name.toLowerCase() === lower) ?? this.scriptedChannels.find((c) => c.name.toLowerCase() === lower);
  }

  presence(contact: string, state: PresenceState, note: string, receivedAt: number, initial = false): void {
    this.inbox.presence(contact, state, note, receivedAt, initial);
  }

  registered(elapsedMs: number): void {
    this.ctx.metrics.latency('register', elapsedMs);
  }

  retransmission(): void {
    this.ctx.metrics.add('retransmissions');
  }

  error(kind: string, detail?: string): void {
    this.ctx.metrics.error(kind);
    if (detail) this.ctx.note(`error:${kind}`, `${kind}: ${detail}`);
  }

  disconnected(reason: string, kind = 'unexpected-close'): void {
    if (this.state !== 'online') return;
    this.ctx.metrics.online--;
    this.ctx.metrics.add('disconnects');
    this.error(kind, reason);
    this.user?.destroy();
    this.user = undefined;
    this.state = 'waiting';
    this.retryLater();
  }

  note(key: string, text: string): void {
    this.ctx.note(key, text);
  }
}
