/**
 * One virtual user's life: log on at its scheduled time, join its channels, act on its schedule,
 * log off. Protocol-neutral: everything protocol-specific is behind `VirtualUser`.
 *
 * Every logon attempt, logoff attempt and send ends in exactly one counted outcome, however the
 * run ends (docs/metrics.md § Outcomes of each attempt): each is settled once, by whichever comes
 * first — its own result, or the run's stop cutting it off — and the later one is ignored.
 */
import type { ChannelAssignment, PresenceState, ProtocolAgent, SendOutcome, VirtualUser, VuEvents, VuIdentity } from '../protocols/types.js';
import { AgentError } from '../protocols/types.js';
import { withDeadline } from '../protocols/deadline.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import { Random } from '../scenarios/random.js';
import type { Action, WorkloadPlan } from '../scenarios/schedule.js';
import type { EventRecorder, RecordedAction } from '../metrics/recording.js';
import { ReplayStream, type ActionSource, type Replay } from './replay.js';
import { Vu } from './vu-api.js';
import { runFlow } from './flow.js';
import type { ScriptEvent } from './expectations.js';
import { Inbox } from './inbox.js';
import { PresenceCorrelator } from './presence-correlation.js';
import { formatStamp, messageBody, TO_CHANNEL, TO_PRESENTERS } from './stamp.js';

export type { ScriptEvent };
import type { Scheduler } from './scheduler.js';
import type { Semaphore } from './semaphore.js';
import type { LogonWindow } from './logon-window.js';

export interface WorkerContext {
  readonly plan: WorkloadPlan;
  readonly agent: ProtocolAgent;
  readonly metrics: MetricsRecorder;
  readonly scheduler: Scheduler;
  readonly logons: LogonWindow;
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
  readonly replay?: Replay;
  /** A network target: the server each user index connects to (delivery latency split same/cross). */
  readonly serverOf?: (index: number) => number;
}

type VuState = 'waiting' | 'connecting' | 'online' | 'leaving' | 'gone';

/** How long a logoff may take before it counts as failed. */
const LOGOFF_TIMEOUT_MS = 5000;

/** One logon attempt's connection: who closed it, once closed. */
interface Connection {
  closedBy: 'imload' | 'lost' | undefined;
}

/** A message or channel message sent and not yet settled. */
interface SendInFlight {
  readonly seq: number;
  settled: boolean;
}

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
  /** When the next logon attempt is due, if not at the scheduled logon time (a retry, a script's call). */
  private nextLogonDueAt: number | undefined;

  constructor(
    private readonly ctx: WorkerContext,
    readonly identity: VuIdentity,
  ) {
    const recorded = ctx.replay?.events.get(identity.index);
    this.replayed = recorded && ctx.replay ? new ReplayStream(recorded, ctx.replay.speed, identity) : undefined;
    // Replays and user scripts change presence off the seeded schedule: stamps alone measure them.
    const correlator = ctx.replay || ctx.userScript ? undefined : new PresenceCorrelator(ctx.plan, identity, ctx.startEpochMs);
    this.inbox = new Inbox(
      ctx.metrics,
      identity,
      this,
      (from, seq, ch) => this.record(ch === undefined ? { k: 'recv', from, seq } : { k: 'recv', from, seq, ch }),
      correlator,
      (key, text) => ctx.note(key, text),
      ctx.serverOf,
    );
    const scripted = ctx.plan.groupOf(identity.index) !== undefined || ctx.userScript !== undefined;
    this.activity = this.replayed ?? (scripted ? NO_ACTIONS : ctx.plan.activity(identity.index, identity));
  }

  private record(event: RecordedAction): void {
    this.ctx.recorder?.record({ u: this.identity.index, t: Math.round(this.ctx.now() - this.ctx.startEpochMs), ...event });
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
      this.logonPending = true;
      scheduler.at(startEpochMs + this.replayed.logonAt, () => void this.logon());
      if (this.replayed.logoffAt !== undefined) scheduler.at(startEpochMs + this.replayed.logoffAt, () => void this.logoff());
      return;
    }
    const script = this.script();
    this.logonPending = true;
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
    // The script decides whether and when its user logs on (logonNow).
    this.logonPending = false;
    try {
      await script(new Vu(this));
      this.ctx.metrics.add('flowsCompleted');
    } catch (error) {
      this.error('script-error', (error as Error).message);
    }
  }

  private async logon(): Promise<void> {
    if (this.state !== 'waiting') return;
    if (this.ctx.stopping) {
      // A script's logon asked for while the run stops: it never begins.
      this.logonPending = true;
      this.abandonLogon();
      return;
    }
    const { metrics, agent, plan } = this.ctx;
    const behaviour = plan.scenario.behaviour;
    const scheduledAt = this.ctx.startEpochMs + (this.replayed?.logonAt ?? plan.logonAt(this.identity.index));
    // Logon latency runs from when the attempt was due, so waiting for a slot (a server that
    // paces, maxInFlight) shows as slowness instead of hiding it (coordinated omission).
    const dueAt = this.nextLogonDueAt ?? scheduledAt;
    this.nextLogonDueAt = undefined;
    this.state = 'connecting';
    this.logonPending = true;
    await this.ctx.logons.acquire();
    if (this.state !== 'connecting') {
      // The run stopped, or the user's session ended, while it waited for its slot: counted then.
      this.ctx.logons.release();
      return;
    }
    this.logonPending = false;
    metrics.add('logonAttempts');
    this.logonInFlight = true;
    if (this.ctx.stopping) {
      this.ctx.logons.release();
      this.abandonLogon();
      return;
    }
    const startedAt = this.ctx.now();
    this.record({ k: 'logon' });
    if (this.attempts === 0) metrics.latency('logonDelay', startedAt - scheduledAt);
    const user = agent.createUser(this.identity, this.connectionEvents());
    this.user = user;
    try {
      await withDeadline(user.logon(), behaviour.logonTimeout, 'logon-timeout', 'logon');
      for (const channel of this.identity.channels) await this.joinOne(user, channel);
    } catch (error) {
      const kind = error instanceof AgentError ? error.kind : 'logon-failed';
      // A logon our own logoff or stop cut short tells the window nothing about the server.
      this.ctx.logons.release(this.logonInFlight && !this.ctx.stopping ? { startedAt, failure: kind } : undefined);
      if (!this.logonInFlight) return; // cut off by the run's end or the user's logoff: counted then
      if (this.ctx.stopping) {
        this.abandonLogon();
        return;
      }
      this.settleLogon('logonFailed');
      this.error(kind, (error as Error).message);
      this.closeUser();
      this.state = 'waiting';
      this.retryLater(kind === 'throttled');
      return;
    }
    this.ctx.logons.release({ startedAt });
    if (!this.logonInFlight) return; // cut off while its joins completed: counted then
    if (this.ctx.stopping) {
      // Stopped while logging on: leave without counting the user online.
      this.abandonLogon();
      return;
    }
    this.settleLogon('logonOk');
    metrics.latency('logon', this.ctx.now() - dueAt);
    metrics.online++;
    this.readyAt = this.ctx.now();
    this.state = 'online';
    this.attempts = 0;
    if (!this.activityStarted) {
      this.activityStarted = true;
      this.scheduleNext();
    }
  }

  /** A logon due or scheduled (first or a reconnect), not yet begun: waiting for its time or a slot. */
  private logonPending = false;
  /** A logon attempt counted in `logonAttempts` whose outcome is not counted yet. */
  private logonInFlight = false;

  private settleLogon(outcome: 'logonOk' | 'logonFailed' | 'logonCancelled'): void {
    this.logonInFlight = false;
    this.ctx.metrics.add(outcome);
  }

  /**
   * The run's end, or the user's own logoff time, came before the user was online: a logon in
   * flight is cancelled, one that had not begun never will. The user is gone.
   */
  private abandonLogon(): void {
    if (this.logonInFlight) {
      this.settleLogon('logonCancelled');
      this.ctx.metrics.teardown('logon-cancelled');
    } else if (this.logonPending) {
      this.logonPending = false;
      this.ctx.metrics.add('logonsNotStarted');
    }
    this.state = 'gone';
    this.closeUser();
  }

  /** The current connection (one per logon attempt), while the user has one. */
  private connection: Connection | undefined;

  /**
   * What the agent reports for one connection. Once it is closed (by imload, or lost and counted
   * as a disconnect), its late failures are teardown and it cannot be lost (again). A new
   * connection (a reconnect) gets its own.
   */
  private connectionEvents(): VuEvents {
    const connection: Connection = { closedBy: undefined };
    this.connection = connection;
    return {
      bytes: (inBytes, outBytes) => this.bytes(inBytes, outBytes),
      message: (from, text, receivedAt, channel) => this.message(from, text, receivedAt, channel),
      presence: (contact, state, note, receivedAt, initial) => this.presence(contact, state, note, receivedAt, initial),
      metric: (name, value) => this.metric(name, value),
      note: (key, text) => this.note(key, text),
      // After a loss the disconnect was the error; what the dead connection reports later is not another.
      error: (kind, detail) => (connection.closedBy !== undefined ? this.ctx.metrics.teardown(kind) : this.error(kind, detail)),
      disconnected: (reason, kind) => {
        if (connection.closedBy === undefined) this.disconnected(reason, kind);
      },
    };
  }

  /**
   * Drops the user's connection: imload's own doing (run end, a failed logon or logoff), or after
   * the server lost it (`lost`). Operations still in flight on it then fail as what it was.
   */
  private closeUser(closedBy: Connection['closedBy'] = 'imload'): void {
    if (this.connection) this.connection.closedBy ??= closedBy;
    this.connection = undefined;
    this.user?.destroy();
    this.user = undefined;
  }

  /**
   * An operation on `connection` failed: because imload is stopping, logging the user off, or
   * closed the connection itself — not a server error then.
   */
  private cutByImload(connection: Connection | undefined): boolean {
    return this.ctx.stopping || this.state === 'leaving' || connection?.closedBy === 'imload';
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
      // A join cut off by imload closing the user is teardown (error() says so), not a failed join.
      if (!this.ctx.stopping && this.state !== 'gone') this.ctx.metrics.add('joinsFailed');
      this.error(error instanceof AgentError ? error.kind : 'join-failed', (error as Error).message);
      return false;
    }
  }

  // ---- operations for scripted users (YAML flows, the TypeScript API) ----

  /** Logs on now; true once online. */
  async logonNow(): Promise<boolean> {
    if (this.state === 'waiting') {
      this.nextLogonDueAt = this.ctx.now();
      await this.logon();
    }
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

  /**
   * Reconnect with exponential backoff and seeded jitter, so a restarted server sees no herd. A
   * throttled logon is retried even without `reconnect.enabled`: the server asked to come back later.
   */
  private retryLater(throttled = false): void {
    const { plan, scheduler } = this.ctx;
    const reconnect = plan.scenario.behaviour.reconnect;
    const now = this.ctx.now();
    if ((!reconnect.enabled && !throttled) || this.ctx.stopping || this.attempts >= reconnect.maxAttempts) {
      this.state = 'gone';
      return;
    }
    if (now >= this.ctx.startEpochMs + plan.logoffAt(this.identity.index)) {
      this.state = 'gone';
      return;
    }
    this.logonPending = true;
    const base = Math.min(reconnect.maxDelay, reconnect.initialDelay * 2 ** this.attempts);
    const jitter = 0.5 + new Random(plan.scenario.seed, this.identity.index, 'reconnect', this.attempts).next();
    this.attempts++;
    this.ctx.metrics.add('reconnects');
    this.state = 'waiting';
    this.nextLogonDueAt = now + base * jitter;
    scheduler.at(this.nextLogonDueAt, () => void this.logon());
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
    if (action.kind === 'presence') {
      if (this.ctx.agent.capabilities.presence) await this.changePresence(user, action.state, scheduledAt);
      return;
    }
    const fillerBytes = plan.scenario.behaviour.messageBytes;
    const connection = this.connection;
    const seq = ++this.seq;
    /** Sends it (inside the try below: an agent may also throw at once). */
    let sending: () => Promise<SendOutcome>;
    let recipientsIfUncounted: number;
    if (action.kind === 'message') {
      const text = body(formatStamp(this.identity.index, seq, scheduledAt, action.toIndex), action.text, fillerBytes);
      this.record({ k: 'message', to: action.to, toIndex: action.toIndex, seq, text: action.text });
      metrics.add('messagesSent');
      recipientsIfUncounted = 1;
      sending = () => user.message(action.to, text);
    } else {
      const audience = action.channel.role === 'listener' ? 'presenters' : 'all';
      const to = audience === 'presenters' ? TO_PRESENTERS : TO_CHANNEL;
      const text = body(formatStamp(this.identity.index, seq, scheduledAt, to), action.text, fillerBytes);
      this.record({ k: 'say', ch: action.channel.name, seq, text: action.text });
      metrics.add('channelMessagesSent');
      recipientsIfUncounted = 0;
      sending = () => user.say(action.channel, text, audience);
    }
    const send: SendInFlight = { seq, settled: false };
    this.sendsInFlight.add(send);
    let outcome: SendOutcome | { readonly ok: false; readonly reason: 'error'; readonly kind: string; readonly detail: string };
    try {
      outcome = await sending();
    } catch (error) {
      outcome = { ok: false, reason: 'error', kind: error instanceof AgentError ? error.kind : 'send-failed', detail: (error as Error).message };
    }
    this.sendsInFlight.delete(send);
    if (send.settled) return; // cancelled by the run's end
    send.settled = true;
    if (outcome.ok) {
      const recipients = outcome.recipients ?? recipientsIfUncounted;
      metrics.add('deliveriesExpected', recipients);
      this.record({ k: 'sent', seq, n: recipients });
    } else if (outcome.reason === 'offline') {
      metrics.add('undeliverable');
      this.record({ k: 'send-failed', seq, reason: 'offline' });
    } else {
      const kind = outcome.reason === 'error' ? outcome.kind : outcome.reason === 'timeout' ? 'send-timeout' : 'send-rejected';
      if (this.cutByImload(connection)) this.cancelSend(send, kind);
      else {
        metrics.add('sendsFailed');
        this.record({ k: 'send-failed', seq, reason: kind });
        this.serverError(kind, outcome.detail);
      }
    }
  }

  /** Sends awaiting their outcome: the run's end cancels them. */
  private readonly sendsInFlight = new Set<SendInFlight>();

  /** A send whose outcome is the run's end (in flight at the stop, or failing after it began). */
  private cancelSend(send: SendInFlight, kind: string): void {
    send.settled = true;
    this.ctx.metrics.add('sendsCancelled');
    this.ctx.metrics.teardown(kind);
    this.record({ k: 'send-failed', seq: send.seq, reason: 'cancelled' });
  }

  private async changePresence(user: VirtualUser, state: PresenceState, scheduledAt: number): Promise<void> {
    const note = formatStamp(this.identity.index, ++this.seq, scheduledAt, TO_CHANNEL);
    this.record({ k: 'presence', state });
    const connection = this.connection;
    try {
      await user.setPresence(state, note);
    } catch (error) {
      const kind = error instanceof AgentError ? error.kind : 'presence-failed';
      if (this.cutByImload(connection)) this.ctx.metrics.teardown(kind);
      else this.serverError(kind, (error as Error).message);
      return;
    }
    this.ctx.metrics.add('presenceChanges');
    const at = scheduledAt - this.ctx.startEpochMs;
    // A replay runs at its own speed: its watchers are online when the replay has them online.
    const replay = this.ctx.replay;
    this.ctx.metrics.add('presenceExpected', replay ? replay.sessions.watchersOnline(this.ctx.plan.watchersOf(this.identity.index), at) : this.ctx.plan.watchersOnline(this.identity.index, at));
  }

  async logoff(): Promise<void> {
    const user = this.user;
    // A run that stops while this user is logging off waits for that logoff (bounded below)
    // instead of treating the user as gone and destroying it mid-way.
    if (this.state === 'leaving') return this.leaving;
    if (this.state === 'connecting' || this.state === 'waiting') {
      this.abandonLogon();
      return;
    }
    if (this.state !== 'online' || !user) {
      this.state = 'gone';
      return;
    }
    this.state = 'leaving';
    this.ctx.metrics.add('logoffAttempts');
    this.logoffInFlight = true;
    this.logoffForStop = this.ctx.stopping;
    this.leaving = this.leave(user);
    return this.leaving;
  }

  private leaving: Promise<void> | undefined;
  /** Leaving, but waiting for a logoff slot (rampDown maxInFlight): still online until it starts. */
  private waitingToLeave = false;
  /** A logoff attempt counted in `logoffAttempts` whose outcome is not counted yet. */
  private logoffInFlight = false;
  /** The logoff began because the run stopped (not on the schedule): its failure is teardown. */
  private logoffForStop = false;

  private settleLogoff(outcome: 'logoffs' | 'logoffsFailed' | 'logoffsCutOff'): void {
    this.logoffInFlight = false;
    this.ctx.metrics.add(outcome);
  }

  private async leave(user: VirtualUser): Promise<void> {
    this.waitingToLeave = true;
    await this.ctx.logoffs.acquire();
    this.waitingToLeave = false;
    if (this.state !== 'leaving') {
      // Destroyed while waiting its turn (the run ended): cut off, counted then.
      this.ctx.logoffs.release();
      return;
    }
    this.ctx.metrics.online--;
    this.record({ k: 'logoff' });
    try {
      await withDeadline(user.logoff(), LOGOFF_TIMEOUT_MS, 'logoff-timeout', 'logoff');
      if (this.logoffInFlight) this.settleLogoff('logoffs');
    } catch (error) {
      // Not already cut off by the run's end (destroy() while in flight).
      if (this.logoffInFlight) {
        this.settleLogoff('logoffsFailed');
        const kind = error instanceof AgentError ? error.kind : 'logoff-failed';
        // A logoff the schedule asked for is judged like any request; one the stop asked for
        // (everyone at once, a burst the scenario never planned) is imload's teardown.
        if (this.logoffForStop) {
          this.ctx.metrics.add('logoffsFailedAtStop');
          this.ctx.metrics.teardown(kind);
        } else this.serverError(kind, (error as Error).message);
        this.closeUser();
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

  /**
   * Run end: drop the connection without ceremony. Whatever is still in flight — a logon, a
   * logoff (on the wire or waiting for a slot), sends — is settled now as cut off by the run.
   */
  destroy(): void {
    if (this.state === 'online' || (this.state === 'leaving' && this.waitingToLeave)) this.ctx.metrics.online--;
    if (this.state === 'connecting' || this.state === 'waiting') this.abandonLogon();
    if (this.logoffInFlight) {
      this.settleLogoff('logoffsCutOff');
      this.ctx.metrics.teardown('logoff-cut-off');
    }
    for (const send of this.sendsInFlight) this.cancelSend(send, 'send-cancelled');
    this.sendsInFlight.clear();
    this.state = 'gone';
    this.closeUser();
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

  /** A sample of a metric the protocol registers (VuEvents.metric). */
  metric(name: string, value: number): void {
    this.ctx.metrics.protocolMetric(name, value);
  }

  /**
   * A failure the agent or a script reports. Once the run is stopping, or imload has closed this
   * user itself, it is a consequence of imload's own teardown: counted apart from server errors.
   */
  error(kind: string, detail?: string): void {
    if (this.ctx.stopping || this.state === 'gone') this.ctx.metrics.teardown(kind);
    else this.serverError(kind, detail);
  }

  private serverError(kind: string, detail?: string): void {
    this.ctx.metrics.error(kind);
    if (detail) this.ctx.note(`error:${kind}`, `${kind}: ${detail}`);
  }

  disconnected(reason: string, kind = 'unexpected-close'): void {
    if (this.state !== 'online') return;
    this.ctx.metrics.online--;
    this.ctx.metrics.add('disconnects');
    this.record({ k: 'disconnect', reason: kind });
    this.error(kind, reason);
    this.closeUser('lost');
    this.state = 'waiting';
    this.retryLater();
  }

  note(key: string, text: string): void {
    this.ctx.note(key, text);
  }
}
