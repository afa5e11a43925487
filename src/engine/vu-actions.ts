/**
 * What a virtual user sends: its schedule's (or replay's) actions as they come due, and the sends
 * a script asks for — each message, channel message or presence change stamped with its
 * scheduled time, recorded, and settled exactly once: by its own outcome, or cancelled by the
 * run's end (`cancelAll`), whichever comes first.
 */
import type { PresenceState, SendOutcome, VirtualUser, VuIdentity } from '../protocols/types.js';
import { AgentError } from '../protocols/types.js';
import type { Action } from '../scenarios/schedule.js';
import type { ActionSource } from './replay.js';
import type { ConnectionEvents } from './vu-events.js';
import type { RecordAction, WorkerContext } from './vu-context.js';
import { formatStamp, messageBody, TO_CHANNEL, TO_PRESENTERS } from './stamp.js';

/** What sending needs from the lifecycle. */
export interface SenderState {
  /** The user and its connection while online; undefined otherwise. */
  readonly current: { readonly user: VirtualUser; readonly connection: ConnectionEvents | undefined } | undefined;
  /** The user is done (logged off, abandoned, or given up on). */
  readonly gone: boolean;
  /** When the user last became ready: actions due before it were late because of the logon. */
  readonly readyAt: number;
  error(kind: string, detail?: string): void;
  serverError(kind: string, detail?: string): void;
  /** An operation on `connection` failed because of imload (stopping, logging off, closed it). */
  cutByImload(connection: ConnectionEvents | undefined): boolean;
}

/** A message or channel message sent and not yet settled. */
interface SendInFlight {
  readonly seq: number;
  settled: boolean;
}

/** The stamp, then the user's own words (scripted or replayed) or the scenario's filler. */
function body(stamp: string, text: string | undefined, fillerBytes: number): string {
  return text !== undefined ? `${stamp} ${text}` : messageBody(stamp, fillerBytes);
}

export class VuActions {
  private seq = 0;
  private activityStarted = false;
  /**
   * Sends awaiting their outcome: the run's end cancels them. Made by a send and dropped once
   * empty: a user sends a few times an hour, and an empty Set is ~160 bytes a user.
   */
  private sendsInFlight: Set<SendInFlight> | undefined;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly identity: VuIdentity,
    private readonly sender: SenderState,
    private readonly activity: ActionSource,
    private readonly record: RecordAction,
  ) {}

  /** Starts taking the actions as they come due, once (at the first logon; a reconnect resumes them). */
  startActivity(): void {
    if (this.activityStarted) return;
    this.activityStarted = true;
    this.scheduleNext();
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
    const current = this.sender.current;
    if (!current) {
      if (!this.sender.gone) this.sender.error('sender-offline', 'a scheduled action came due while the user was not logged on');
      return;
    }
    const { user, connection } = current;
    const { metrics, plan } = this.ctx;
    const scheduledAt = this.ctx.startEpochMs + action.at;
    // sendLag measures the generator; an action due while its user was still logging on was
    // late because of the server, and that already shows in its delivery latency.
    if (scheduledAt >= this.sender.readyAt) metrics.latency('sendLag', this.ctx.now() - scheduledAt);
    if (action.kind === 'presence') {
      if (this.ctx.agent.capabilities.presence) await this.changePresence(user, connection, action.state, scheduledAt);
      return;
    }
    const fillerBytes = plan.scenario.behaviour.messageBytes;
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
    (this.sendsInFlight ??= new Set()).add(send);
    let outcome: SendOutcome | { readonly ok: false; readonly reason: 'error'; readonly kind: string; readonly detail: string };
    try {
      outcome = await sending();
    } catch (error) {
      outcome = { ok: false, reason: 'error', kind: error instanceof AgentError ? error.kind : 'send-failed', detail: (error as Error).message };
    }
    this.sendsInFlight?.delete(send);
    if (this.sendsInFlight?.size === 0) this.sendsInFlight = undefined;
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
      if (this.sender.cutByImload(connection)) this.cancelSend(send, kind);
      else {
        metrics.add('sendsFailed');
        this.record({ k: 'send-failed', seq, reason: kind });
        this.sender.serverError(kind, outcome.detail);
      }
    }
  }

  /** The run's end: every send still awaiting its outcome is cancelled now. */
  cancelAll(): void {
    for (const send of this.sendsInFlight ?? []) this.cancelSend(send, 'send-cancelled');
    this.sendsInFlight = undefined;
  }

  /** A send whose outcome is the run's end (in flight at the stop, or failing after it began). */
  private cancelSend(send: SendInFlight, kind: string): void {
    send.settled = true;
    this.ctx.metrics.add('sendsCancelled');
    this.ctx.metrics.teardown(kind);
    this.record({ k: 'send-failed', seq: send.seq, reason: 'cancelled' });
  }

  private async changePresence(user: VirtualUser, connection: ConnectionEvents | undefined, state: PresenceState, scheduledAt: number): Promise<void> {
    const note = formatStamp(this.identity.index, ++this.seq, scheduledAt, TO_CHANNEL);
    this.record({ k: 'presence', state });
    try {
      await user.setPresence(state, note);
    } catch (error) {
      const kind = error instanceof AgentError ? error.kind : 'presence-failed';
      if (this.sender.cutByImload(connection)) this.ctx.metrics.teardown(kind);
      else this.sender.serverError(kind, (error as Error).message);
      return;
    }
    this.ctx.metrics.add('presenceChanges');
    const at = scheduledAt - this.ctx.startEpochMs;
    // A replay runs at its own speed: its watchers are online when the replay has them online.
    const replay = this.ctx.replay;
    this.ctx.metrics.add(
      'presenceExpected',
      replay ? replay.sessions.watchersOnline(this.ctx.plan.watchersOf(this.identity.index), at) : this.ctx.plan.watchersOnline(this.identity.index, at),
    );
  }
}
