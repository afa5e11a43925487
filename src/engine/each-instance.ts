/**
 * The each-instance channel mode (#19): Exchange 5.5's guidance for chat servers that are not
 * linked — a client posts to every instance of the channel. One virtual user is made of one
 * agent user per server of the network: it logs on to every server, joins each channel on
 * each, and posts each channel message once per instance with the same stamp. What it receives
 * is de-duplicated here by that stamp before the inbox sees it: the first copy of a message is
 * the delivery (its latency), a copy from another instance is a duplicate by design (counted
 * `instanceCopies`, never as the server's duplicate), and a second copy from the same instance
 * goes on to the inbox, which counts it as the server's duplicate.
 *
 * What the mode costs over one linked instance is counted as it happens: the posts beyond the
 * first (`instancePosts`), the copies beyond the first (`instanceCopies`), and every byte on the
 * user's connections to servers other than its own (`instanceBytesIn`/`Out`) — its own server,
 * by the network's spread, is the one that would carry all its traffic were the servers linked.
 * Instant messages and presence go through the user's own server only: every recipient is
 * connected there too.
 *
 * Protocol-neutral: it drives `VirtualUser`s and asks the agent for one per server
 * (`createUser(identity, events, server)`, offered by agents with `capabilities.eachInstance`).
 */
import {
  AgentError,
  type ChannelAssignment,
  type ChannelAudience,
  type PresenceState,
  type ProtocolAgent,
  type SendOutcome,
  type VirtualUser,
  type VuEvents,
  type VuIdentity,
} from '../protocols/types.js';
import { eachInstanceServers, networkServerOf, type AgentNetwork } from '../protocols/network.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import { parseStamp } from './stamp.js';

/** The servers of an each-instance network, and which is each user's own. */
export interface EachInstance {
  readonly servers: number;
  /** The user's own server by the network's spread: its instant messages and presence go there. */
  homeOf(index: number): number;
}

/** The layout of a network target in the each-instance mode, or undefined (linked, or one server). */
export function eachInstanceOf(network: AgentNetwork | undefined): EachInstance | undefined {
  const servers = eachInstanceServers(network);
  const homeOf = networkServerOf(network);
  return servers !== undefined && homeOf ? { servers, homeOf } : undefined;
}

/** What became of one copy of a channel message. */
export type CopyArrival = 'first' | 'copy' | 'again';

/**
 * Which instances the recent channel messages of one receiver arrived from: a fixed ring of
 * message ids with a flag per server, so a copy allocates nothing. A copy arriving after
 * `size` newer messages than its first copy is no longer recognised: the inbox then takes it
 * for a new delivery (counted as unexpected), so the ring's reach shows, never hides a loss.
 */
export class InstanceCopies {
  private readonly ids: Float64Array;
  private readonly from: Uint8Array;
  private next = 0;

  constructor(
    private readonly servers: number,
    size = 128,
  ) {
    this.ids = new Float64Array(size).fill(-1);
    this.from = new Uint8Array(size * servers);
  }

  /** Records a copy of message (sender, seq) from `server`. */
  arrived(sender: number, seq: number, server: number): CopyArrival {
    const id = sender * 4_294_967_296 + seq;
    const servers = this.servers;
    for (let slot = 0; slot < this.ids.length; slot++) {
      if (this.ids[slot] !== id) continue;
      const flag = slot * servers + server;
      if (this.from[flag] === 1) return 'again';
      this.from[flag] = 1;
      return 'copy';
    }
    const slot = this.next;
    this.ids[slot] = id;
    this.from.fill(0, slot * servers, (slot + 1) * servers);
    this.from[slot * servers + server] = 1;
    this.next = (slot + 1) % this.ids.length;
    return 'first';
  }
}

/** A post that failed: the agent's outcome, or what it threw. */
type PostResult = SendOutcome | { readonly ok: false; readonly thrown: unknown };

export class EachInstanceUser implements VirtualUser {
  private readonly users: readonly VirtualUser[];
  private readonly home: number;
  private readonly copies: InstanceCopies;

  constructor(
    agent: ProtocolAgent,
    identity: VuIdentity,
    private readonly events: VuEvents,
    private readonly metrics: MetricsRecorder,
    layout: EachInstance,
  ) {
    this.home = layout.homeOf(identity.index);
    this.copies = new InstanceCopies(layout.servers);
    this.users = Array.from({ length: layout.servers }, (_, server) => agent.createUser(identity, this.eventsOf(server), server));
  }

  /** What the agent user on `server` reports: counted, de-duplicated, then passed on to the user's events. */
  private eventsOf(server: number): VuEvents {
    const events = this.events;
    const metrics = this.metrics;
    const extra = server !== this.home;
    return {
      bytes: (inBytes, outBytes) => {
        events.bytes(inBytes, outBytes);
        if (!extra) return;
        if (inBytes) metrics.add('instanceBytesIn', inBytes);
        if (outBytes) metrics.add('instanceBytesOut', outBytes);
      },
      message: (from, text, receivedAt, channel) => {
        const stamp = channel === undefined ? undefined : parseStamp(text);
        if (stamp && this.copies.arrived(stamp.sender, stamp.seq, server) === 'copy') {
          metrics.add('instanceCopies');
          return;
        }
        events.message(from, text, receivedAt, channel);
      },
      presence: (contact, state, note, receivedAt, initial) => events.presence(contact, state, note, receivedAt, initial),
      metric: (name, value) => events.metric(name, value),
      error: (kind, detail) => events.error(kind, detail),
      disconnected: (reason, kind) => events.disconnected(reason, kind),
      note: (key, text) => events.note(key, text),
    };
  }

  /** Ready once every server has the user: one logon attempt, failed by the first server that fails it. */
  async logon(): Promise<void> {
    await Promise.all(this.users.map((user) => user.logon()));
  }

  async join(channel: ChannelAssignment): Promise<void> {
    await Promise.all(this.users.map((user) => user.join(channel)));
  }

  /**
   * Posts to every instance at once. The message is accepted when any instance accepted it
   * (each of its recipients is a member of every instance): its recipients are the most any
   * accepting instance counted. The post that decides the message's outcome is the user's own
   * server's, or the first that was accepted; every other post that failed is an error of its own.
   */
  async say(channel: ChannelAssignment, text: string, audience: ChannelAudience): Promise<SendOutcome> {
    const posts = this.users.map((user) => user.say(channel, text, audience).catch((thrown: unknown): PostResult => ({ ok: false, thrown })));
    this.metrics.add('instancePosts', posts.length - 1);
    const results = await Promise.all(posts);
    const accepted = results.filter((r): r is Extract<SendOutcome, { ok: true }> => r.ok);
    const firstAccepted = results.findIndex((r) => r.ok);
    const decider = results[this.home]!.ok || firstAccepted < 0 ? this.home : firstAccepted;
    results.forEach((result, server) => {
      if (server !== decider && !result.ok) this.events.error(...failureOf(result));
    });
    if (accepted.length > 0) return { ok: true, recipients: Math.max(...accepted.map((r) => r.recipients ?? 0)) };
    const decided = results[decider]!;
    if ('thrown' in decided) throw decided.thrown;
    return decided;
  }

  message(to: string, text: string): Promise<SendOutcome> {
    return this.users[this.home]!.message(to, text);
  }

  setPresence(state: PresenceState, note: string): Promise<void> {
    return this.users[this.home]!.setPresence(state, note);
  }

  async part(channel: ChannelAssignment): Promise<void> {
    await Promise.all(this.users.map((user) => user.part(channel)));
  }

  async logoff(): Promise<void> {
    await Promise.all(this.users.map((user) => user.logoff()));
  }

  destroy(): void {
    for (const user of this.users) user.destroy();
  }
}

/** A failed post as an error kind and detail, named as the engine names a failed send. */
function failureOf(result: Exclude<PostResult, { ok: true }>): [string, string | undefined] {
  if ('thrown' in result) {
    const error = result.thrown;
    return [error instanceof AgentError ? error.kind : 'send-failed', error instanceof Error ? error.message : String(error)];
  }
  return [result.reason === 'timeout' ? 'send-timeout' : 'send-rejected', result.detail];
}
