/**
 * One IRC virtual user: a raw socket, the registration dance (CAP, SASL or PASS, NICK/USER,
 * IRCX detection), channel views, and sends acknowledged by a PING barrier — the server handles
 * a client's lines in order, so once our PONG arrives, any error for the message came before it.
 */
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import {
  AgentError,
  type AgentTarget,
  type ChannelAssignment,
  type ChannelAudience,
  type PresenceState,
  type SendOutcome,
  type VirtualUser,
  type VuEvents,
  type VuIdentity,
} from '../types.js';
import { LineBuffer, nickOf, parseLine, sanitize, type IrcMessage } from './codec.js';
import { ChannelView, JOIN_ERRORS, channelName, type SharedRosters } from './channels.js';
import type { ServerFeatures } from './features.js';
import { AuditoriumPolicy, type AuditoriumMember } from './auditorium.js';
import { CapNegotiation, type CapLink } from './cap.js';
import { SEND_ERRORS, SendBarriers } from './barriers.js';
import { isThrottleText, openSocket, serverErrorKind } from './connection.js';
import { classifySocketError, socketErrorDetail, type ErrorKind } from '../errors.js';

const READY_TOKEN = 'imload-ready';

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Drives two units that know it only through the interfaces they define: the capability and
 * SASL negotiation (cap.ts, created when the server speaks CAP) and the auditorium join policy
 * (auditorium.ts).
 */
export class IrcUser implements VirtualUser, CapLink, AuditoriumMember {
  nick: string;
  private socket: Socket | undefined;
  /** Holds a character split across chunks; only while a chunk has ended inside a line (decode()). */
  private decoder: StringDecoder | undefined;
  private readonly lines = new LineBuffer();
  private registered = false;
  /** When NICK/USER went out: the `register` latency runs from here to 001. */
  private greetedAt = 0;
  private leaving = false;
  /** Connected (over TLS: handshake done); a socket error before it is a failure to connect. */
  private connected = false;
  private closed = false;
  private lastError = '';
  /** Why the server said it closed us (ERROR), reported with the disconnect. */
  private closeKind: ErrorKind | undefined;
  /** A throttle notice received while registering (isThrottleText). */
  private throttleNotice: string | undefined;
  private nickAttempts = 0;
  private logonWaiter: Waiter | undefined;
  private logoffWaiter: (() => void) | undefined;
  readonly channels = new Map<string, ChannelView>();
  /** JOINs and NAMES awaiting their end of NAMES, only while one is open: an idle user holds no map (~190 B each). */
  private joinWaiters: Map<string, Waiter> | undefined;
  private readonly barriers = new SendBarriers();
  private readonly auditorium: AuditoriumPolicy;
  private cap: CapNegotiation | undefined;

  constructor(
    readonly target: AgentTarget,
    readonly identity: VuIdentity,
    readonly events: VuEvents,
    readonly features: ServerFeatures,
    private readonly rosters: SharedRosters,
    /** This user's server within the roster group (0 on a single server). */
    private readonly rosterServer = 0,
  ) {
    this.nick = identity.name;
    this.auditorium = new AuditoriumPolicy(this);
  }

  get endpoint(): string {
    return `${this.target.host}:${this.target.port}`;
  }

  logon(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.logonWaiter = { resolve, reject };
      const socket = openSocket(this.target, this.identity.sourceAddress);
      this.socket = socket;
      socket.setNoDelay(true);
      socket.once(this.target.transport === 'tls' ? 'secureConnect' : 'connect', () => this.greet());
      socket.on('data', (chunk: Buffer) => this.receive(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => this.failed(error));
      socket.on('close', () => this.onClose());
    });
  }

  private greet(): void {
    this.connected = true;
    this.greetedAt = performance.now();
    // IRCX servers answer `MODE ISIRCX` before registration with 800; plain IRC with an error.
    if (this.features.ircx === undefined) this.send('MODE ISIRCX');
    this.send('CAP LS 302');
    const password = this.identity.password;
    if (password !== undefined && this.target.options.sasl !== true) this.send(`PASS ${sanitize(password)}`);
    this.send(`NICK ${this.nick}`);
    this.send(`USER ${this.identity.name} 0 * :imload virtual user`);
  }

  send(line: string): void {
    const socket = this.socket;
    if (!socket || this.closed) return;
    socket.write(`${line}\r\n`);
    this.events.bytes(0, Buffer.byteLength(line) + 2);
  }

  private receive(chunk: Buffer): void {
    this.events.bytes(chunk.length, 0);
    // After QUIT nothing the server says matters but the close; parsing the tail of a busy
    // channel's traffic for thousands of leaving users would only starve the event loop.
    if (this.leaving) return;
    const overflow = this.lines.push(this.decode(chunk), (line) => {
      if (line.length === 0 || line === '\r') return;
      const message = parseLine(line);
      if (!message) {
        this.events.error('protocol-error', `unparseable line from ${this.endpoint}: ${line.slice(0, 80)}`);
        return;
      }
      try {
        this.handle(message);
      } catch (error) {
        this.events.error('protocol-error', `${message.command}: ${(error as Error).message}`);
      }
    });
    if (overflow) this.events.error('protocol-error', `line longer than the IRC maximum from ${this.endpoint}`);
  }

  /**
   * A chunk that ends with a line's newline ends a character too, so it needs no decoder: most
   * do, and a decoder kept per user costs ~250 B. One ending inside a line may split a UTF-8
   * character; a decoder carries that until a chunk ends a line again.
   */
  private decode(chunk: Buffer): string {
    const endsLine = chunk[chunk.length - 1] === 0x0a;
    if (endsLine && !this.decoder) return chunk.toString('utf8');
    this.decoder ??= new StringDecoder('utf8');
    const text = this.decoder.write(chunk);
    if (endsLine) this.decoder = undefined;
    return text;
  }

  private handle(message: IrcMessage): void {
    const { command, params } = message;
    switch (command) {
      case 'PING':
        this.send(`PONG :${params[params.length - 1] ?? ''}`);
        return;
      case 'PONG': {
        const token = params[params.length - 1] ?? '';
        if (token === READY_TOKEN) this.ready();
        else this.barriers.settle(token);
        return;
      }
      case '001':
        this.registered = true;
        this.events.metric('register', performance.now() - this.greetedAt);
        this.nick = params[0] ?? this.nick;
        if (this.features.ircx === undefined) this.features.ircx = false;
        if (this.features.ircx) this.send('IRCX');
        // Ready once the registration burst (004, 005 ISUPPORT, MOTD) is read: the PONG comes after it.
        this.send(`PING :${READY_TOKEN}`);
        return;
      case '004':
        if (!this.features.version) this.features.version = params[2] ?? '';
        return;
      case '005':
        this.features.learnIsupport(params.slice(1, -1));
        return;
      case '800':
        this.features.ircx = true;
        return;
      case 'CAP':
      case 'AUTHENTICATE':
      case '903':
      case '904':
      case '905':
      case '906':
      case '902':
        this.cap ??= new CapNegotiation(this.identity, this.target, this.features, this);
        this.cap.handle(message);
        return;
      case '433':
      case '436':
        this.nickInUse(command);
        return;
      case '432':
        this.failLogon('nick-rejected', `432 ${this.endpoint} rejected the nick ${this.nick}`, '432');
        return;
      case '464':
        this.failLogon('auth-failed', `464 ${this.endpoint}: password incorrect`, '464');
        return;
      case '465':
        this.failLogon('banned', `465 ${this.endpoint}: banned from the server`, '465');
        return;
      case 'ERROR':
        this.serverError(params[0] ?? '');
        return;
      case 'NOTICE':
        // Some servers say why before they close an unregistered client: a close then is a throttle.
        if (this.logonWaiter && isThrottleText(params[1] ?? '')) this.throttleNotice = params[1];
        return;
      case '353': {
        const view = this.channels.get((params[2] ?? '').toLowerCase());
        if (view) for (const entry of (params[3] ?? '').split(' ')) if (entry) view.addName(entry, this.features);
        return;
      }
      case '366':
        this.endOfNames(params[1] ?? '');
        return;
      case 'JOIN':
        this.joined(nickOf(message.prefix), params[0] ?? '');
        return;
      case 'PART':
        this.left(nickOf(message.prefix), params[0] ?? '');
        return;
      case 'KICK':
        this.left(params[1] ?? '', params[0] ?? '');
        return;
      case 'QUIT':
        for (const view of this.channels.values()) view.remove(nickOf(message.prefix));
        return;
      case 'NICK':
        for (const view of this.channels.values()) view.rename(nickOf(message.prefix), params[0] ?? '');
        return;
      case 'MODE':
        this.modeChanged(params);
        return;
      case 'PRIVMSG':
        this.privmsg(nickOf(message.prefix), params[0] ?? '', params[1] ?? '');
        return;
      case 'WHISPER':
        // IRCX: `:src WHISPER #chan nicks :text` is a private message in a channel's context.
        if (nickOf(message.prefix) !== this.nick) this.events.message(nickOf(message.prefix), params[2] ?? '', now());
        return;
      case '926':
        // IRCX: the channel exists already, so CREATE failed; join it as a member.
        this.send(`JOIN ${params[1]}`);
        return;
      default:
        if (SEND_ERRORS[command]) this.barriers.refuse(command, params[1] ?? '', params[params.length - 1] ?? '');
        if (JOIN_ERRORS[command]) this.joinRefused(command, params[1] ?? '', params[params.length - 1] ?? '');
    }
  }

  private ready(): void {
    this.features.announce(this.events);
    this.logonWaiter?.resolve();
    this.logonWaiter = undefined;
  }

  private nickInUse(numeric: string): void {
    this.events.error('nick-in-use', `${numeric} ${this.nick} is already in use on ${this.endpoint}`);
    if (this.registered || ++this.nickAttempts > 3) {
      this.failLogon('nick-in-use', `${numeric} no free nick after ${this.nickAttempts} tries`, numeric);
      return;
    }
    this.nick = `${this.identity.name}${'_'.repeat(this.nickAttempts)}`;
    this.send(`NICK ${this.nick}`);
  }

  failLogon(kind: ErrorKind, message: string, code?: string): void {
    const waiter = this.logonWaiter;
    if (!waiter) return;
    this.logonWaiter = undefined;
    waiter.reject(new AgentError(kind, message, this.endpoint, code));
    this.destroy();
  }

  private serverError(text: string): void {
    this.lastError = text;
    const kind = serverErrorKind(text);
    if (this.logonWaiter) this.failLogon(kind, `${this.endpoint} closed the connection: ${text}`);
    else this.closeKind = kind;
  }

  private failed(error: NodeJS.ErrnoException): void {
    const kind = classifySocketError(error, { connecting: !this.connected, operation: this.logonWaiter ? 'logon' : undefined });
    const detail = socketErrorDetail(error);
    this.lastError = `${kind}: ${detail}`;
    if (this.logonWaiter) this.failLogon(kind, `${this.endpoint}: ${detail}`, error.code);
    // After logon the close follows and reports the loss once, under this kind.
    else this.closeKind ??= kind;
  }

  private onClose(): void {
    const wasOpen = !this.closed;
    this.closed = true;
    const reason = this.lastError || 'the server closed the connection';
    if (this.throttleNotice !== undefined) this.failLogon('throttled', `${this.endpoint} closed the connection after: ${this.throttleNotice}`);
    else this.failLogon('unexpected-close', `${this.endpoint}: ${reason} during registration`);
    for (const [, waiter] of this.joinWaiters ?? []) waiter.reject(new AgentError(this.closeKind ?? 'unexpected-close', reason, this.endpoint));
    this.joinWaiters = undefined;
    this.barriers.abandon(reason);
    for (const key of [...this.channels.keys()]) this.dropChannel(key);
    if (this.leaving) this.logoffWaiter?.();
    else if (wasOpen && this.registered) this.events.disconnected(reason, this.closeKind);
  }

  // ---- channels ----

  join(channel: ChannelAssignment): Promise<void> {
    return this.auditorium.join(channel);
  }

  /** Sends JOIN (or IRCX CREATE) and resolves at end of NAMES. */
  joinOnce(channel: ChannelAssignment, create: boolean): Promise<void> {
    const key = channel.name.toLowerCase();
    this.dropChannel(key);
    this.channels.set(key, new ChannelView(channel, this.rosters, key, this.rosterServer));
    return new Promise<void>((resolve, reject) => {
      (this.joinWaiters ??= new Map()).set(key, { resolve, reject });
      this.send(create ? `CREATE ${channel.name} +x` : `JOIN ${channel.name}`);
    });
  }

  /** Forgets a channel this user left (or never got into). */
  dropChannel(key: string): void {
    this.channels.get(key)?.release(this.nick);
    this.channels.delete(key);
  }

  /** Re-reads a channel's member list (NAMES), e.g. once operator status reveals hidden members. */
  refreshNames(name: string): Promise<void> {
    const key = name.toLowerCase();
    return new Promise<void>((resolve, reject) => {
      (this.joinWaiters ??= new Map()).set(key, { resolve, reject });
      this.send(`NAMES ${name}`);
    });
  }

  private endOfNames(name: string): void {
    const key = name.toLowerCase();
    const view = this.channels.get(key);
    if (view) view.collecting = false;
    const waiter = this.takeJoinWaiter(key);
    waiter?.resolve();
  }

  private takeJoinWaiter(key: string): Waiter | undefined {
    const waiter = this.joinWaiters?.get(key);
    if (!waiter) return undefined;
    this.joinWaiters!.delete(key);
    if (this.joinWaiters!.size === 0) this.joinWaiters = undefined;
    return waiter;
  }

  private joined(nick: string, name: string): void {
    const view = this.channels.get(name.toLowerCase());
    if (!view || nick === this.nick) return;
    view.addMember(nick);
    this.auditorium.memberJoined(view, nick);
  }

  private left(nick: string, name: string): void {
    const key = name.toLowerCase();
    if (nick === this.nick) this.dropChannel(key);
    else this.channels.get(key)?.remove(nick);
  }

  private modeChanged(params: readonly string[]): void {
    const view = this.channels.get((params[0] ?? '').toLowerCase());
    if (!view) return;
    const opped = view.applyMode(params[1] ?? '', params.slice(2), this.features);
    if (opped.includes(this.nick)) this.auditorium.gainedOp(view);
  }

  private joinRefused(numeric: string, name: string, text: string): void {
    const key = name.toLowerCase();
    const waiter = this.takeJoinWaiter(key);
    if (!waiter) return;
    this.dropChannel(key);
    waiter.reject(new AgentError(JOIN_ERRORS[numeric]!, `${numeric} ${this.endpoint} refused JOIN ${name}: ${text}`, this.endpoint, numeric));
  }

  part(channel: ChannelAssignment): Promise<void> {
    this.send(`PART ${channel.name}`);
    this.dropChannel(channel.name.toLowerCase());
    return this.barrier([]).then(() => undefined);
  }

  // ---- messages ----

  say(channel: ChannelAssignment, text: string, audience: ChannelAudience): Promise<SendOutcome> {
    const view = this.channels.get(channel.name.toLowerCase());
    if (!view) return Promise.resolve({ ok: false, reason: 'rejected', detail: `not in ${channel.name}` });
    const body = sanitize(text);
    if (audience === 'all' || !channel.auditorium) {
      this.send(`PRIVMSG ${channel.name} :${body}`);
      return this.barrier([channel.name], () => view.othersCount(this.nick));
    }
    const mode = this.features.auditoriumMode;
    if (mode === 'plus-u') {
      this.send(`PRIVMSG @${channel.name} :${body}`);
      return this.barrier([channel.name, `@${channel.name}`], () => view.opsOtherThan(this.nick));
    }
    if (mode === 'ircx') {
      this.send(`PRIVMSG ${channel.name} :${body}`);
      return this.barrier([channel.name], () => view.opsOtherThan(this.nick));
    }
    const presenters = view.presentersPresent(this.nick);
    for (const presenter of presenters) this.send(`PRIVMSG ${presenter} :${body}`);
    return this.barrier(presenters, presenters.length);
  }

  message(to: string, text: string): Promise<SendOutcome> {
    const body = sanitize(text);
    if (this.features.ircx) {
      for (const view of this.channels.values()) {
        if (view.assignment && view.hasMember(to)) {
          this.send(`WHISPER ${view.assignment.name} ${to} :${body}`);
          return this.barrier([to, view.assignment.name], 1);
        }
      }
    }
    this.send(`PRIVMSG ${to} :${body}`);
    return this.barrier([to], 1);
  }

  private privmsg(from: string, target: string, text: string): void {
    if (from === this.nick) return; // echo-message: our own line coming back
    const channel = channelName(target, this.features);
    this.events.message(from, text, now(), channel);
  }

  /** Resolves once the server has processed everything sent before it (barriers.ts). */
  private barrier(targets: readonly string[], recipients: number | (() => number) = 0): Promise<SendOutcome> {
    return this.barriers.open(targets, recipients, (line) => this.send(line));
  }

  // ---- presence and leaving ----

  setPresence(_state: PresenceState, _note: string): Promise<void> {
    return Promise.reject(new AgentError('unsupported', 'IRC has no contact presence'));
  }

  logoff(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.leaving = true;
    return new Promise<void>((resolve) => {
      this.logoffWaiter = resolve;
      this.send('QUIT :imload logoff');
      // The server closes after QUIT; if it lingers, close our side (bounded by the engine).
      this.socket?.end();
    });
  }

  destroy(): void {
    this.leaving = true;
    this.closed = true;
    this.socket?.destroy();
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}
