/**
 * The script's audience of a virtual user: what YAML flows and TypeScript `user()` functions can
 * do to it, behind the public `Vu` (vu-api.ts). Logging on, joining and sending go through the
 * same lifecycle and sender as the schedule's, so they are timed, recorded and counted alike.
 */
import type { ChannelAssignment, VirtualUser, VuIdentity } from '../protocols/types.js';
import type { Action } from '../scenarios/schedule.js';
import type { ChannelLookup, Inbox } from './inbox.js';
import type { ScriptEvent } from './expectations.js';
import type { VuActions } from './vu-actions.js';
import type { RecordAction, WorkerContext } from './vu-context.js';
import { Vu } from './vu-api.js';

/** What a script needs from the lifecycle. */
export interface ScriptedLifecycle {
  /** Not logged on, nor trying to: a logon may begin. */
  readonly waiting: boolean;
  readonly online: boolean;
  /** The user while online; undefined otherwise. */
  readonly onlineUser: VirtualUser | undefined;
  /** Logs on, its latency counted from `dueAt`. */
  logon(dueAt: number): Promise<void>;
  logoff(): Promise<void>;
  /** Joins one channel, counted; true once joined. */
  join(user: VirtualUser, channel: ChannelAssignment): Promise<boolean>;
  error(kind: string, detail?: string): void;
}

/** The user's channels: the schedule's, and those a script joined beyond them. */
export class UserChannels implements ChannelLookup {
  private readonly scripted: ChannelAssignment[] = [];

  constructor(private readonly identity: VuIdentity) {}

  channelNamed(name: string): ChannelAssignment | undefined {
    const lower = name.toLowerCase();
    return this.identity.channels.find((c) => c.name.toLowerCase() === lower) ?? this.scripted.find((c) => c.name.toLowerCase() === lower);
  }

  joined(channel: ChannelAssignment): void {
    if (!this.channelNamed(channel.name)) this.scripted.push(channel);
  }

  parted(channel: ChannelAssignment): void {
    const at = this.scripted.indexOf(channel);
    if (at !== -1) this.scripted.splice(at, 1);
  }
}

export class VuScript {
  constructor(
    private readonly ctx: WorkerContext,
    readonly identity: VuIdentity,
    private readonly lifecycle: ScriptedLifecycle,
    private readonly actions: VuActions,
    private readonly channels: UserChannels,
    private readonly inbox: Inbox,
    private readonly record: RecordAction,
  ) {}

  /** Runs a script for this user: it decides whether and when the user logs on (`logonNow`). */
  async run(script: (vu: Vu) => Promise<void>): Promise<void> {
    try {
      await script(new Vu(this));
      this.ctx.metrics.add('flowsCompleted');
    } catch (error) {
      this.lifecycle.error('script-error', (error as Error).message);
    }
  }

  get runSeed(): number {
    return this.ctx.plan.scenario.seed;
  }

  /** Logs on now; true once online. */
  async logonNow(): Promise<boolean> {
    if (this.lifecycle.waiting) await this.lifecycle.logon(this.ctx.now());
    return this.lifecycle.online;
  }

  logoff(): Promise<void> {
    return this.lifecycle.logoff();
  }

  async joinChannel(name: string): Promise<boolean> {
    const user = this.lifecycle.onlineUser;
    if (!user) {
      this.lifecycle.error('not-logged-on', `join ${name} before logon`);
      return false;
    }
    const channel = this.channels.channelNamed(name) ?? { name, role: 'member' as const, auditorium: false, presenters: [] };
    const ok = await this.lifecycle.join(user, channel);
    if (ok) this.channels.joined(channel);
    return ok;
  }

  async partChannel(name: string): Promise<void> {
    const channel = this.channels.channelNamed(name);
    const user = this.lifecycle.onlineUser;
    if (!channel || !user) return;
    await user.part(channel);
    this.record({ k: 'part', ch: name });
    this.channels.parted(channel);
  }

  channelNamed(name: string): ChannelAssignment | undefined {
    return this.channels.channelNamed(name);
  }

  /** Sends a message, channel message or presence change the script asked for. */
  act(action: Action): Promise<void> {
    return this.actions.act(action);
  }

  /** A failure the script reports. */
  error(kind: string, detail?: string): void {
    this.lifecycle.error(kind, detail);
  }

  /** Ms since the run started: the scheduled time of an action a script takes now. */
  sinceStart(): number {
    return this.ctx.now() - this.ctx.startEpochMs;
  }

  /** A user name's population index (names come from the pattern), or -1. */
  indexOf(name: string): number {
    const at = this.identity.contacts.indexOf(name);
    if (at !== -1) return this.ctx.plan.contactIndices(this.identity.index)[at]!;
    for (let i = 0; i < this.ctx.plan.users; i++) if (this.ctx.plan.name(i) === name) return i;
    return -1;
  }

  /** Resolves true when a received message or presence change matches, false after `withinMs`. */
  expect(match: (event: ScriptEvent) => boolean, withinMs: number): Promise<boolean> {
    return this.inbox.expectations.wait(match, withinMs, (ok) => {
      this.ctx.metrics.add(ok ? 'expectsMet' : 'expectsFailed');
      if (!ok) this.lifecycle.error('expect-timeout', `nothing matched within ${withinMs} ms`);
    });
  }
}
