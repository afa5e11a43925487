/**
 * Acknowledged sends. IRC has no positive acknowledgement for PRIVMSG, so each send is followed
 * by `PING :token`: the server handles a client's lines in order, so when the PONG arrives any
 * refusal of the message (401, 404, ...) has arrived before it.
 */
import type { SendOutcome } from '../types.js';

/** Numerics that refuse a message to a target (params[1] names it). */
export const SEND_ERRORS: Readonly<Record<string, 'offline' | 'rejected'>> = {
  '401': 'offline', // no such nick
  '403': 'rejected', // no such channel
  '404': 'rejected', // cannot send to channel
  '406': 'offline', // was no such nick
  '412': 'rejected', // no text to send
  '442': 'rejected', // not on channel
  '477': 'rejected', // need registered nick
  '482': 'rejected', // not channel operator
  '486': 'rejected', // only registered users may message
  '531': 'rejected', // cannot send to user
  '923': 'rejected', // IRCX: whispers not allowed
};

interface Barrier {
  readonly token: string;
  readonly targets: readonly string[];
  /**
   * Counted when the PONG arrives, not at send time: by then the sender has read every JOIN and
   * PART the server handled before the message, so members joining meanwhile are not missed.
   */
  readonly recipients: number | (() => number);
  failure: SendOutcome | undefined;
  readonly resolve: (outcome: SendOutcome) => void;
}

export class SendBarriers {
  private readonly pending: Barrier[] = [];
  private seq = 0;

  /** Registers a barrier for the sends just made to `targets`; `ping` sends its PING line. */
  open(targets: readonly string[], recipients: number | (() => number), ping: (line: string) => void): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve) => {
      const token = `imload-${++this.seq}`;
      this.pending.push({ token, targets: targets.map((t) => t.toLowerCase()), recipients, failure: undefined, resolve });
      ping(`PING :${token}`);
    });
  }

  /** A PONG: settles its barrier and every earlier one (the server answers in order). */
  settle(token: string): void {
    const index = this.pending.findIndex((b) => b.token === token);
    if (index === -1) return;
    for (const barrier of this.pending.splice(0, index + 1)) {
      const recipients = typeof barrier.recipients === 'number' ? barrier.recipients : barrier.recipients();
      barrier.resolve(barrier.failure ?? { ok: true, recipients });
    }
  }

  /** A refusal numeric: marks the oldest open send to that target as failed. */
  refuse(numeric: string, target: string, text: string): void {
    const key = target.toLowerCase();
    const barrier = this.pending.find((b) => b.failure === undefined && b.targets.includes(key));
    if (barrier) barrier.failure = { ok: false, reason: SEND_ERRORS[numeric]!, detail: `${numeric} ${target}: ${text}` };
  }

  /** The connection is gone: every open send ends as timed out. */
  abandon(reason: string): void {
    for (const barrier of this.pending.splice(0)) barrier.resolve({ ok: false, reason: 'timeout', detail: reason });
  }
}
