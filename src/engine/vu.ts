/**
 * One virtual user's life: log on at its scheduled time, join its channels, act on its schedule,
 * log off. Protocol-neutral: everything protocol-specific is behind `VirtualUser`.
 */
import type { ChannelAssignment, PresenceState, ProtocolAgent, VirtualUser, VuEvents, VuIdentity } from '../agents/types.js';
import { AgentError } from '../agents/types.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import { Random } from '../scenarios/random.js';
import type { Action, WorkloadPlan } from '../scenarios/schedule.js';
import type { EventRecorder, RecordedAction, RecordedEvent } from './recording.js';
import { ReplayStream, type ActionSource } from './replay.js';
import { formatStamp, messageBody, parseStamp, RecentIds, TO_CHANNEL, TO_PRESENTERS } from './stamp.js';
import type { Scheduler } from './scheduler.js';
import type { Semaphore } from './semaphore.js';

export interface WorkerContext {
  readonly plan: WorkloadPlan;
  readonly agent: ProtocolAgent;
  readonly metrics: MetricsRecorder;
  readonly scheduler: Scheduler;
  readonly logons: Semaphore;
  readonly startEpochMs: number;
  /** Epoch ms with sub-ms precision, comparable across processes on one host. */
  now(): number;
  note(key: string, text: string): void;
  readonly stopping: boolean;
  /** Writes events.ndjson.gz (what each user did and when). */
  readonly recorder?: EventRecorder;
  /** Replaying a recording: each user's recorded events, and the speed-up. */
  readonly replay?: { readonly events: ReadonlyMap<number, readonly RecordedEvent[]>; readonly speed: number };
}

type VuState = 'waiting' | 'connecting' | 'online' | 'leaving' | 'gone';

class TimeoutError extends AgentError {}

function withTimeout<T>(promise: Promise<T>, ms: number, kind: string, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(kind, `${what} did not complete within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The stamp, then the user's own words (scripted or replayed) or the scenario's filler. */
function body(stamp: string, text: string | undefined, fillerBytes: number): string {
  return text !== undefined ? `${stamp} ${text}` : messageBody(stamp, fillerBytes);
}

export class VuRunner implements VuEvents {
  private state: VuState = 'waiting';
  private user: VirtualUser | undefined;
  private seq = 0;
  private attempts = 0;
  private readonly recent = new RecentIds(32);
  private readonly activity: ActionSource;
  private readonly replayed: ReplayStream | undefined;
  private activityStarted = false;
  /** When the user last became ready: actions due before it were late because of the logon. */
  private readyAt = 0;

  constructor(
    private readonly ctx: WorkerContext,
    readonly identity: VuIdentity,
  ) {
    const recorded = ctx.replay?.events.get(identity.index);
    this.replayed = recorded && ctx.replay ? new ReplayStream(recorded, ctx.replay.speed, identity) : undefined;
    this.activity = this.replayed ?? ctx.plan.activity(identity.index, identity);
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
    scheduler.at(startEpochMs + plan.logonAt(this.identity.index), () => void this.logon());
    scheduler.at(startEpochMs + plan.logoffAt(this.identity.index), () => void this.logoff());
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
      await withTimeout(user.logon(), behaviour.logonTimeout, 'logon-timeout', 'logon');
      for (const channel of this.identity.channels) {
        const joinStart = this.ctx.now();
        try {
          await withTimeout(user.join(channel), behaviour.joinTimeout, 'join-timeout', `join ${channel.name}`);
          this.record({ k: 'join', ch: channel.name });
          metrics.add('joinsOk');
          metrics.latency('join', this.ctx.now() - joinStart);
        } catch (error) {
          metrics.add('joinsFailed');
          this.error(error instanceof AgentError ? error.kind : 'join-failed', (error as Error).message);
        }
      }
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
    this.ctx.metrics.online--;
    this.record({ k: 'logoff' });
    this.leaving = this.leave(user);
    return this.leaving;
  }

  private leaving: Promise<void> | undefined;

  private async leave(user: VirtualUser): Promise<void> {
    try {
      await withTimeout(user.logoff(), 5000, 'logoff-timeout', 'logoff');
      this.ctx.metrics.add('logoffs');
    } catch (error) {
      this.error(error instanceof AgentError ? error.kind : 'logoff-failed', (error as Error).message);
      user.destroy();
    }
    this.state = 'gone';
  }

  /** Run abort: drop the connection without ceremony. */
  destroy(): void {
    if (this.state === 'online') this.ctx.metrics.online--;
    this.state = 'gone';
    this.user?.destroy();
  }

  // ---- VuEvents: called by the agent ----

  bytes(inBytes: number, outBytes: number): void {
    if (inBytes) this.ctx.metrics.add('bytesIn', inBytes);
    if (outBytes) this.ctx.metrics.add('bytesOut', outBytes);
  }

  message(_from: string, text: string, receivedAt: number, channel?: string): void {
    const stamp = parseStamp(text);
    if (!stamp) return;
    const metrics = this.ctx.metrics;
    if (this.recent.seen(stamp.sender, stamp.seq)) {
      metrics.add('duplicates');
      return;
    }
    if (!this.intendedFor(stamp.to, channel)) {
      metrics.add('misrouted');
      return;
    }
    metrics.add('deliveriesReceived');
    metrics.latency('delivery', receivedAt - stamp.scheduledAt);
  }

  private intendedFor(to: number, channel: string | undefined): boolean {
    if (to >= 0) return to === this.identity.index && channel === undefined;
    const mine = channel === undefined ? undefined : this.channel(channel);
    if (channel !== undefined && !mine) return false;
    if (to === TO_PRESENTERS) {
      return mine ? mine.role === 'presenter' : this.identity.channels.some((c) => c.role === 'presenter');
    }
    return mine !== undefined;
  }

  private channel(name: string): ChannelAssignment | undefined {
    const lower = name.toLowerCase();
    return this.identity.channels.find((c) => c.name.toLowerCase() === lower);
  }

  presence(_contact: string, _state: PresenceState, note: string, receivedAt: number, initial = false): void {
    if (initial) {
      this.ctx.metrics.add('presenceInitial');
      return;
    }
    const stamp = parseStamp(note);
    if (!stamp) return;
    this.ctx.metrics.add('presenceSeen');
    this.ctx.metrics.latency('presence', receivedAt - stamp.scheduledAt);
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
