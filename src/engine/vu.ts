/**
 * One virtual user's lifecycle: log on at its scheduled time (joining its channels), reconnect
 * after a loss, log off, and be cut off by the run's end. Protocol-neutral: everything
 * protocol-specific is behind `VirtualUser`.
 *
 * Every logon attempt, logoff attempt and send ends in exactly one counted outcome, however the
 * run ends (docs/metrics.md § Outcomes of each attempt): each is settled once, by whichever comes
 * first — its own result, or the run's stop cutting it off — and the later one is ignored.
 *
 * The user's other audiences are units of their own, built here: the agent reports to a
 * `ConnectionEvents` per connection (vu-events.ts), scripts drive a `VuScript` (vu-script.ts,
 * behind the public `Vu`), what the user sends is `VuActions` (vu-actions.ts) and what it
 * receives its `Inbox` (inbox.ts).
 */
import type { ChannelAssignment, VirtualUser, VuIdentity } from '../protocols/types.js';
import { AgentError } from '../protocols/types.js';
import { withDeadline } from '../protocols/deadline.js';
import { Random } from '../scenarios/random.js';
import type { RecordedAction } from '../metrics/recording.js';
import { ReplayStream, type ActionSource } from './replay.js';
import { runFlow } from './flow.js';
import { EachInstanceUser } from './each-instance.js';
import { Inbox, type InboxReceipts } from './inbox.js';
import { PresenceCorrelator } from './presence-correlation.js';
import type { Vu } from './vu-api.js';
import { VuActions, type SenderState } from './vu-actions.js';
import type { WorkerContext } from './vu-context.js';
import { ConnectionEvents, type ClosedBy, type ConnectionOwner } from './vu-events.js';
import { UserChannels, VuScript, type ScriptedLifecycle } from './vu-script.js';

type VuState = 'waiting' | 'connecting' | 'online' | 'leaving' | 'gone';

/** How long a logoff may take before it counts as failed. */
const LOGOFF_TIMEOUT_MS = 5000;

const NO_ACTIONS: ActionSource = { next: () => undefined };

export class VuRunner implements SenderState, ScriptedLifecycle, ConnectionOwner, InboxReceipts {
  /** What scripts (YAML flows, `user()` functions) call, through the public `Vu`. */
  readonly script: VuScript;
  /** What the user sends: its schedule's actions and a script's. */
  readonly actions: VuActions;

  private state: VuState = 'waiting';
  private user: VirtualUser | undefined;
  /** The current connection's agent callbacks (one per logon attempt), while the user has one. */
  private connection: ConnectionEvents | undefined;
  private readonly inbox: Inbox;
  private readonly replayed: ReplayStream | undefined;
  /** Consecutive failed logons (reconnect backoff), reset once online. */
  private attempts = 0;
  private ready = 0;

  /** A logon due or scheduled (first or a reconnect), not yet begun: waiting for its time or a slot. */
  private logonPending = false;
  /** A logon attempt counted in `logonAttempts` whose outcome is not counted yet. */
  private logonInFlight = false;

  private leaving: Promise<void> | undefined;
  /** Leaving, but waiting for a logoff slot (rampDown maxInFlight): still online until it starts. */
  private waitingToLeave = false;
  /** A logoff attempt counted in `logoffAttempts` whose outcome is not counted yet. */
  private logoffInFlight = false;
  /** The logoff began because the run stopped (not on the schedule): its failure is teardown. */
  private logoffForStop = false;

  constructor(
    private readonly ctx: WorkerContext,
    readonly identity: VuIdentity,
  ) {
    const recorded = ctx.replay?.events.get(identity.index);
    this.replayed = recorded && ctx.replay ? new ReplayStream(recorded, ctx.replay.speed, identity) : undefined;
    const channels = new UserChannels(identity);
    // Replays and user scripts change presence off the seeded schedule: stamps alone measure them.
    const correlator = ctx.replay || ctx.userScript ? undefined : new PresenceCorrelator(ctx.plan, identity, ctx.startEpochMs);
    // bind, not an arrow bound to a name: under tsx (esbuild keepNames) that costs a
    // 256-byte `name` property store per user (see ConnectionEvents).
    const record: (event: RecordedAction) => void = this.record.bind(this);
    this.inbox = new Inbox(
      ctx.metrics,
      identity,
      channels,
      ctx.recorder ? this : undefined,
      correlator,
      ctx,
      ctx.serverOf,
    );
    const scripted = ctx.plan.groupOf(identity.index) !== undefined || ctx.userScript !== undefined;
    const activity = this.replayed ?? (scripted ? NO_ACTIONS : ctx.plan.activity(identity.index, identity));
    this.actions = new VuActions(ctx, identity, this, activity, record);
    this.script = new VuScript(ctx, identity, this, this.actions, channels, this.inbox, record);
  }

  /** @internal The inbox's log of what it counted (InboxReceipts): `recv` events when the run records. */
  received(from: number, seq: number, ch: string | undefined): void {
    this.record(ch === undefined ? { k: 'recv', from, seq } : { k: 'recv', from, seq, ch });
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

  get waiting(): boolean {
    return this.state === 'waiting';
  }

  get gone(): boolean {
    return this.state === 'gone';
  }

  /** When the user last became ready: actions due before it were late because of the logon. */
  get readyAt(): number {
    return this.ready;
  }

  get onlineUser(): VirtualUser | undefined {
    return this.state === 'online' ? this.user : undefined;
  }

  get current(): SenderState['current'] {
    const user = this.onlineUser;
    return user ? { user, connection: this.connection } : undefined;
  }

  /** A logoff is on the wire (not waiting for a slot): destroy() now would cut it off. */
  get loggingOff(): boolean {
    return this.state === 'leaving' && !this.waitingToLeave;
  }

  /** Schedules the user's logon (or its script) and logoff. */
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
    const script = this.userScript();
    this.logonPending = true;
    scheduler.at(startEpochMs + plan.logonAt(this.identity.index), () => void (script ? this.startScript(script) : this.logon()));
    scheduler.at(startEpochMs + plan.logoffAt(this.identity.index), () => void this.logoff());
  }

  /** A YAML flow for this user's group, else the scenario module's user function, if any. */
  private userScript(): ((vu: Vu) => Promise<void>) | undefined {
    const group = this.ctx.plan.groupOf(this.identity.index);
    if (group) return (vu) => runFlow(vu, group.flow);
    return this.ctx.userScript;
  }

  private startScript(script: (vu: Vu) => Promise<void>): Promise<void> {
    // The script decides whether and when its user logs on (logonNow).
    this.logonPending = false;
    return this.script.run(script);
  }

  /**
   * One logon attempt, then the user's channels. Its latency runs from `dueAt` (a retry's or a
   * script's time), else from the scheduled logon.
   */
  async logon(dueAt?: number): Promise<void> {
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
    const latencyFrom = dueAt ?? scheduledAt;
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
    const connection = new ConnectionEvents(metrics, this.inbox, this);
    this.connection = connection;
    const layout = this.ctx.eachInstance;
    const user = layout ? new EachInstanceUser(agent, this.identity, connection, metrics, layout) : agent.createUser(this.identity, connection);
    this.user = user;
    try {
      await withDeadline(user.logon(), behaviour.logonTimeout, 'logon-timeout', 'logon');
      for (const channel of this.identity.channels) await this.join(user, channel);
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
    metrics.latency('logon', this.ctx.now() - latencyFrom);
    metrics.online++;
    this.ready = this.ctx.now();
    this.state = 'online';
    this.attempts = 0;
    this.actions.startActivity();
  }

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

  /**
   * Drops the user's connection: imload's own doing (run end, a failed logon or logoff), or after
   * the server lost it (`lost`). Operations still in flight on it then fail as what it was.
   */
  private closeUser(closedBy: ClosedBy = 'imload'): void {
    this.connection?.close(closedBy);
    this.connection = undefined;
    this.user?.destroy();
    this.user = undefined;
  }

  /**
   * An operation on `connection` failed: because imload is stopping, logging the user off, or
   * closed the connection itself — not a server error then.
   */
  cutByImload(connection: ConnectionEvents | undefined): boolean {
    return this.ctx.stopping || this.state === 'leaving' || connection?.closedBy === 'imload';
  }

  /** Joins one channel, counted (a join cut off by imload is teardown); true once joined. */
  async join(user: VirtualUser, channel: ChannelAssignment): Promise<boolean> {
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
    const dueAt = now + base * jitter;
    scheduler.at(dueAt, () => void this.logon(dueAt));
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
    this.actions.cancelAll();
    this.state = 'gone';
    this.closeUser();
  }

  /**
   * A failure the agent, a script or the user's own operations report. Once the run is stopping,
   * or the user is gone, it is a consequence of imload's own teardown: counted apart from server
   * errors.
   */
  error(kind: string, detail?: string): void {
    if (this.ctx.stopping || this.state === 'gone') this.ctx.metrics.teardown(kind);
    else this.serverError(kind, detail);
  }

  /** Counted, and recorded against the user (events.ndjson.gz `error`: a fault's report names who failed). */
  serverError(kind: string, detail?: string): void {
    this.ctx.metrics.error(kind);
    this.record({ k: 'error', kind });
    if (detail) this.ctx.note(`error:${kind}`, `${kind}: ${detail}`);
  }

  /** The server lost the user's connection (outside a logoff): counted, then maybe a reconnect. */
  lost(reason: string, kind: string): void {
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

  /** ConnectionOwner: a transaction of this user's retried elsewhere by the deployment. */
  retried(metric: string): void {
    this.record({ k: 'retried', metric });
  }
}
