/** Replays a recorded user: its actions at their recorded times (divided by `speed`). */
import type { VuIdentity } from '../protocols/types.js';
import type { Action } from '../scenarios/schedule.js';
import { readRecording, type RecordedEvent } from '../metrics/recording.js';

/** A recording to replay: each user's recorded events, the speed-up, and the users' replayed sessions. */
export interface Replay {
  readonly events: ReadonlyMap<number, readonly RecordedEvent[]>;
  readonly speed: number;
  readonly sessions: ReplayedSessions;
}

export async function loadReplay(path: string, speed: number): Promise<Replay> {
  const events = await readRecording(path);
  return { events, speed, sessions: new ReplayedSessions(events, speed) };
}

/**
 * When each recorded user is online in the replay (its first recorded logon to its last logoff,
 * divided by `speed`): the schedule's own windows are in the recorded run's time, not the replay's.
 */
export class ReplayedSessions {
  private readonly windows = new Map<number, { readonly from: number; readonly until: number }>();

  constructor(events: ReadonlyMap<number, readonly RecordedEvent[]>, speed: number) {
    for (const [user, list] of events) {
      const logon = list.find((e) => e.k === 'logon');
      if (!logon) continue;
      const logoff = [...list].reverse().find((e) => e.k === 'logoff');
      this.windows.set(user, { from: logon.t / speed, until: logoff ? logoff.t / speed : Number.POSITIVE_INFINITY });
    }
  }

  /** How many of `watchers` the replay has online at `at` (ms from the run's start). */
  watchersOnline(watchers: ArrayLike<number>, at: number): number {
    let online = 0;
    for (let i = 0; i < watchers.length; i++) {
      const window = this.windows.get(watchers[i]!);
      if (window && window.from <= at && at < window.until) online++;
    }
    return online;
  }
}

export interface ActionSource {
  next(): Action | undefined;
}

export class ReplayStream implements ActionSource {
  private readonly actions: Action[] = [];
  private position = 0;
  /** Recorded logon and logoff times (ms from run start, after `speed`). */
  readonly logonAt: number | undefined;
  readonly logoffAt: number | undefined;

  constructor(events: readonly RecordedEvent[], speed: number, identity: VuIdentity) {
    const at = (t: number) => t / speed;
    const logon = events.find((e) => e.k === 'logon');
    const logoff = [...events].reverse().find((e) => e.k === 'logoff');
    this.logonAt = logon ? at(logon.t) : undefined;
    this.logoffAt = logoff ? at(logoff.t) : undefined;
    for (const event of events) {
      if (event.k === 'message') this.actions.push({ kind: 'message', at: at(event.t), to: event.to, toIndex: event.toIndex, text: event.text });
      else if (event.k === 'presence') this.actions.push({ kind: 'presence', at: at(event.t), state: event.state });
      else if (event.k === 'say') {
        const channel = identity.channels.find((c) => c.name === event.ch);
        if (channel) this.actions.push({ kind: 'say', at: at(event.t), channel, text: event.text });
      }
    }
  }

  next(): Action | undefined {
    return this.actions[this.position++];
  }
}
