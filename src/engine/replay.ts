/** Replays a recorded user: its actions at their recorded times (divided by `speed`). */
import type { VuIdentity } from '../agents/types.js';
import type { Action } from '../scenarios/schedule.js';
import type { RecordedEvent } from './recording.js';

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
