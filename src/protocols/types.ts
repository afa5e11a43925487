/**
 * The one seam between the engine and a protocol. The engine (schedule, metrics, outputs) never
 * branches on protocol: it asks an agent for virtual users and drives them through these
 * protocol-neutral operations. Adding a protocol means adding a folder under src/protocols/ whose
 * descriptor (descriptor.ts) loads a `ProtocolModule`.
 */
import type { PresenceState } from '../metrics/names.js';

export type { PresenceState };

/** A named endpoint from scenarios.yaml, with credentials already resolved from env/file. */
import type { AgentNetwork } from './network.js';

export interface AgentTarget {
  readonly name: string;
  readonly protocol: string;
  readonly host: string;
  readonly port: number;
  readonly transport: 'tcp' | 'udp' | 'tls';
  /** IM domain (RVP, SIP); user addresses are `<user>@<domain>`. */
  readonly domain?: string;
  /** TLS: verify the server certificate unless `insecure` is set; `ca` is a PEM file path. */
  readonly tls?: { readonly ca?: string; readonly insecure?: boolean; readonly serverName?: string };
  /**
   * Protocol-specific options from the target's `options:` map, as the scenario wrote them;
   * `validate` checked them against the descriptor's schema, and the agent parses them with it.
   */
  readonly options: Readonly<Record<string, unknown>>;
  /** A network of servers: each user connects to its own (network.ts); `host`/`port` are the first's. */
  readonly network?: AgentNetwork;
}

export type ChannelRole = 'member' | 'presenter' | 'listener';

export interface ChannelAssignment {
  /** Channel name without protocol decoration, e.g. `#room-003`. */
  readonly name: string;
  readonly role: ChannelRole;
  /** Auditorium channel: listeners see only presenters; presenters see everyone. */
  readonly auditorium: boolean;
  /** Auditorium presenters' user names (empty for ordinary channels). */
  readonly presenters: readonly string[];
}

/** Who a virtual user is. Pure data from the deterministic schedule. */
export interface VuIdentity {
  /** Index in the whole population (0-based); unique across workers and hosts. */
  readonly index: number;
  /** User name / nick / alias, e.g. `u000123`. */
  readonly name: string;
  /** Resolved password, if the scenario gives one. Never log or report it. */
  readonly password?: string;
  /** Contact user names (default 20). */
  readonly contacts: readonly string[];
  readonly channels: readonly ChannelAssignment[];
  /** Loopback source address to bind, spreading connections over 127.0.0.x. */
  readonly sourceAddress?: string;
}

/** Where the engine wants a channel message to go. */
export type ChannelAudience = 'all' | 'presenters';

/**
 * What an agent tells the engine. Implemented by the engine; called by agents, always on the
 * object (`events.bytes(…)`): these are methods, not callbacks to keep apart — the engine makes
 * one implementation per online user and keeps it small by using its prototype.
 * Hot path: keep calls allocation-free where possible (numbers, reused strings).
 */
export interface VuEvents {
  /** Application bytes read from / written to the network on this user's behalf. */
  bytes(inBytes: number, outBytes: number): void;
  /**
   * A message arrived for this user. `text` is the body exactly as sent by the engine (the
   * engine embeds its own correlation stamp); `channel` is set for channel messages.
   * `receivedAt` is epoch milliseconds (performance.timeOrigin + performance.now()).
   * `alsoAs` names a latency the protocol registers that records this delivery's latency too
   * (the engine reads the scheduled time from its stamp), e.g. a pool's same/cross-front-end split.
   */
  message(from: string, text: string, receivedAt: number, channel?: string, alsoAs?: string): void;
  /**
   * A watched contact's presence changed; `note` is the note the engine set with the change.
   * `initial` marks the state a new subscription reports (not a change), which is not counted
   * as propagation.
   */
  presence(contact: string, state: PresenceState, note: string, receivedAt: number, initial?: boolean): void;
  /**
   * A sample of a metric the protocol registers in its descriptor's `metrics` (the metric
   * registry, src/metrics/registry.ts): a latency in ms, or a counter's increment. E.g. SIP's
   * `register` (REGISTER to its 2xx) and `retransmissions` (a request sent again for lack of an
   * answer: counted, never hidden). A name the registry does not know is a bug in the agent.
   */
  metric(name: string, value: number): void;
  /**
   * Something went wrong. `kind` is a stable machine-readable category used in summaries:
   * connect-refused, connect-timeout, timeout, protocol-error, unexpected-close, auth-failed,
   * nick-in-use, banned, channel-full, flood-disconnect, server-error, send-failed, ...
   */
  error(kind: string, detail?: string): void;
  /**
   * The connection was lost outside a logoff. The engine counts it under `kind` (default
   * unexpected-close; e.g. flood-disconnect when the server said so) and decides whether to
   * reconnect.
   */
  disconnected(reason: string, kind?: string): void;
  /** Protocol notes worth reporting once per run (e.g. "IRCX not offered; auditorium via +u"). */
  note(key: string, text: string): void;
}

/** Outcome of sending a message, as far as the protocol tells the sender. */
export type SendOutcome =
  /** Accepted by the server (or sent, when the protocol has no acknowledgement). */
  | { readonly ok: true; readonly recipients?: number }
  /** The server says the recipient is not online (IRC 401, RVP 412, SIP 404/480). */
  | { readonly ok: false; readonly reason: 'offline' | 'rejected' | 'timeout'; readonly detail?: string };

export interface VirtualUser {
  /**
   * Connects and logs on. Resolves when the user is "ready" (IRC: 001 received; RVP: login
   * SUBSCRIBE + presence set + contacts subscribed; SIP: REGISTER 200 + subscriptions set up).
   * Rejects with an `AgentError` on failure.
   */
  logon(): Promise<void>;
  /** Joins a channel; resolves when the join is complete (IRC: end of NAMES). */
  join(channel: ChannelAssignment): Promise<void>;
  /**
   * Sends a channel message. Resolves with the number of recipients the sender's view of the
   * channel says should receive it (the delivery check uses it).
   */
  say(channel: ChannelAssignment, text: string, audience: ChannelAudience): Promise<SendOutcome>;
  /** Sends an instant message to one user. */
  message(to: string, text: string): Promise<SendOutcome>;
  /** Changes this user's presence; watchers get `note` back through `VuEvents.presence`. */
  setPresence(state: PresenceState, note: string): Promise<void>;
  part(channel: ChannelAssignment): Promise<void>;
  /** Logs off cleanly (IRC QUIT, RVP offline + unsubscribe, SIP un-REGISTER). */
  logoff(): Promise<void>;
  /** Drops the connection at once (run abort). Never throws. */
  destroy(): void;
}

/** What a protocol can do, so the engine can skip behaviour a protocol lacks. */
export interface AgentCapabilities {
  readonly channels: boolean;
  readonly presence: boolean;
  readonly instantMessages: boolean;
  /** `createUser` connects to the network server it is given (each-instance channels; see ProtocolDescriptor). */
  readonly eachInstance?: boolean;
}

/** One per worker process per target: owns shared resources (UDP sockets, callback listener). */
export interface ProtocolAgent {
  readonly capabilities: AgentCapabilities;
  /**
   * `server`: for a network target, the index of the server (in `network.endpoints`) this user
   * connects to; default the user's own by the network's spread. Only an agent whose descriptor
   * declares `capabilities.eachInstance` is given one (a user holding one connection per server).
   */
  createUser(identity: VuIdentity, events: VuEvents, server?: number): VirtualUser;
  /** The server's own count of online users, for cross-checking (IRC LUSERS, ...). */
  serverOnlineCount?(): Promise<number | undefined>;
  close(): Promise<void>;
}

/**
 * What an agent reports that belongs to no virtual user: traffic and failures on resources its
 * users share (SIP's UDP sockets: a malformed datagram, an ICMP error, a datagram for a user
 * already gone). The engine counts them for the run, never against a user, so a fault's report
 * does not read them as one user's transactions; an error while imload is stopping is teardown.
 */
export type AgentEvents = Pick<VuEvents, 'bytes' | 'metric' | 'error' | 'note'>;

export interface ProtocolModule {
  readonly protocol: string;
  /**
   * How many users one worker process should hold on this target (default 10,000: one socket
   * each, well under the 20,000 files a process may open). Protocols that multiplex users over
   * few sockets (SIP over UDP) can hold more.
   */
  usersPerWorker?(target: AgentTarget): number;
  /**
   * Whether a server answers on a connectionless transport (UDP), where no connection can be
   * refused: undefined when one answered within `timeoutMs`, else what went wrong. Asked once
   * before a run so an unreachable target fails at start; stream transports are probed by a
   * TCP connect instead.
   */
  probeDatagram?(target: AgentTarget, timeoutMs: number): Promise<string | undefined>;
  /**
   * `events`: where the agent reports what belongs to none of its users; absent when the caller
   * runs no users through it (the coordinator's cross-check, tests), and then dropped.
   */
  createAgent(target: AgentTarget, events?: AgentEvents): Promise<ProtocolAgent>;
}

/** A failure an agent raises from an operation: defined with the taxonomy it is typed by. */
export { AgentError } from './errors.js';
