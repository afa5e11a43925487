/**
 * One XMPP virtual user (RFC 6120/6121, XEP-0045): stream, STARTTLS, SASL, resource binding,
 * session if required, roster, live presence subscriptions to contacts missing from it, initial
 * presence, chat messages, presence changes (the engine's note in `<status>`) and MUC rooms.
 * Sends are acknowledged by an XEP-0199 ping behind them: the server handles a session's stanzas
 * in order, so an error bounce for the message arrives before the pong.
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
import { timeoutKind, type ErrorKind, type Operation } from '../errors.js';
import { XmlStreamParser, child, children, escapeXml as x, localName, text, type XmlElement } from './xml.js';
import { ScramClient, chooseMechanism, plainMessage } from './sasl.js';
import { openSocket, socketErrorKind, streamErrorKind, upgradeSocket } from './connection.js';
import type { XmppSettings } from './options.js';

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
const NS_ROSTER = 'jabber:iq:roster';
const NS_PING = 'urn:xmpp:ping';
const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';

type Stage = 'connecting' | 'tls' | 'auth' | 'bind' | 'ready' | 'closed';

interface Pending {
  resolve(value: XmlElement): void;
  reject(error: AgentError): void;
  timer: NodeJS.Timeout;
}

/** A sent message waiting for its acknowledgement; an error bounce marks it refused. */
interface SendWait {
  refused?: { reason: 'offline' | 'rejected'; detail: string };
}

interface Room {
  readonly assignment: ChannelAssignment;
  readonly jid: string;
  /** Other occupants' nicks (ours excluded). */
  readonly occupants: Set<string>;
  joined: boolean;
  join?: { resolve(): void; reject(error: AgentError): void; timer: NodeJS.Timeout };
}

interface ContactView {
  online: boolean;
  state?: PresenceState;
  note?: string;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function bare(jid: string): string {
  const slash = jid.indexOf('/');
  return slash < 0 ? jid : jid.slice(0, slash);
}

function resourceOf(jid: string): string {
  const slash = jid.indexOf('/');
  return slash < 0 ? '' : jid.slice(slash + 1);
}

function localOf(jid: string): string {
  const at = jid.indexOf('@');
  return at < 0 ? '' : jid.slice(0, at);
}

/** `#room-003` → `room-003`: a MUC room's node from an engine channel name. */
export function roomNode(channel: string): string {
  return channel.replace(/^[#&!+]+/, '').toLowerCase().replace(/[^a-z0-9._-]/g, '_') || 'room';
}

export function showFor(state: PresenceState): string {
  return state === 'away' ? 'away' : state === 'busy' ? 'dnd' : '';
}

/** RFC 6121 § 4.7.2.1: no `<show/>` (or `chat`) is available; `away`/`xa` away; `dnd` busy. */
export function stateFromShow(show: string): PresenceState {
  return show === 'away' || show === 'xa' ? 'away' : show === 'dnd' ? 'busy' : 'online';
}

/** The defined condition of a stanza or stream error element. */
function errorCondition(element: XmlElement): string {
  const error = child(element, 'error');
  if (!error) return 'undefined-condition';
  for (const c of children(error)) if (localName(c.name) !== 'text') return localName(c.name);
  return 'undefined-condition';
}

export class XmppUser implements VirtualUser {
  private socket: Socket | undefined;
  private decoder = new StringDecoder('utf8');
  private parser: XmlStreamParser | undefined;
  private stage: Stage = 'connecting';
  private tlsActive: boolean;
  private authenticated = false;
  private scram: ScramClient | undefined;
  /** The full JID the server bound (RFC 6120 § 7.6.1). */
  jid = '';
  private readonly bareJid: string;
  private nextId = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly sends = new Map<string, SendWait>();
  /** Groupchat messages sent: the room's other occupants when their echo came back (undefined until then). */
  private readonly echoes = new Map<string, { count: number | undefined }>();
  private readonly contacts: Set<string>;
  private readonly contactViews = new Map<string, ContactView>();
  private readonly rooms = new Map<string, Room>();
  private logonWaiter: { resolve(): void; reject(error: Error): void; timer: NodeJS.Timeout } | undefined;
  private logoffWaiter: (() => void) | undefined;
  private startedAt = 0;
  private leaving = false;
  private closeKind: ErrorKind | undefined;
  private lastError = '';
  private loggedOn = false;
  private closeHandled = false;

  constructor(
    readonly target: AgentTarget,
    readonly identity: VuIdentity,
    readonly events: VuEvents,
    private readonly settings: XmppSettings,
  ) {
    this.bareJid = `${identity.name}@${settings.domain}`;
    this.tlsActive = target.transport === 'tls';
    this.contacts = new Set(identity.contacts);
  }

  get endpoint(): string {
    return `${this.target.host}:${this.target.port}`;
  }

  // ---- the stream ----

  logon(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.failLogon('logon-timeout', `no logon within ${this.settings.timeoutMs} ms (stage ${this.stage})`), this.settings.timeoutMs);
      this.logonWaiter = { resolve, reject, timer };
      this.startedAt = performance.now();
      const socket = openSocket(this.target, this.settings.domain, this.identity.sourceAddress);
      this.attach(socket);
      socket.setNoDelay(true);
      socket.once(this.target.transport === 'tls' ? 'secureConnect' : 'connect', () => this.openStream());
    });
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => this.failed(error));
    socket.on('close', () => this.onClose());
  }

  private openStream(): void {
    this.decoder = new StringDecoder('utf8');
    this.parser = new XmlStreamParser({
      streamStart: () => {},
      element: (element) => this.handle(element),
      streamEnd: () => this.streamEnded(),
      error: (message) => this.protocolFailure(`not-well-formed XML from ${this.endpoint}: ${message}`),
    });
    this.write(
      `<?xml version='1.0'?><stream:stream to='${x(this.settings.domain)}' from='${x(this.bareJid)}' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`,
    );
  }

  private write(data: string): void {
    const socket = this.socket;
    if (!socket || this.stage === 'closed' || socket.destroyed) return;
    socket.write(data);
    this.events.bytes(0, Buffer.byteLength(data));
  }

  private receive(chunk: Buffer): void {
    this.events.bytes(chunk.length, 0);
    if (this.leaving) return;
    this.parser?.push(this.decoder.write(chunk));
  }

  private id(prefix: string): string {
    return `${prefix}${(++this.nextId).toString(36)}`;
  }

  /** Sends an IQ and resolves with its result; an error reply or no reply rejects. */
  private iq(type: 'get' | 'set', payload: string, to?: string, operation: Operation = 'logon'): Promise<XmlElement> {
    const id = this.id('q');
    return new Promise<XmlElement>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AgentError(timeoutKind(operation), `no answer to iq ${id} within ${this.settings.timeoutMs} ms`, this.endpoint));
      }, this.settings.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.write(`<iq type='${type}' id='${id}'${to ? ` to='${x(to)}'` : ''}>${payload}</iq>`);
    });
  }

  /** Resolves once the server has handled every stanza sent before it (XEP-0199 ping to the domain). */
  private barrier(operation: Operation = 'send'): Promise<XmlElement> {
    return this.iq('get', `<ping xmlns='${NS_PING}'/>`, this.settings.domain, operation);
  }

  private handle(element: XmlElement): void {
    try {
      switch (element.name) {
        case 'stream:features':
          this.features(element);
          return;
        case 'stream:error':
          this.streamError(element);
          return;
        case 'proceed':
          this.startTls();
          return;
        case 'challenge':
        case 'success':
        case 'failure':
          if (element.attrs.xmlns === NS_SASL) this.sasl(element);
          else if (element.attrs.xmlns === NS_TLS) this.failLogon('tls-error', `${this.endpoint} refused STARTTLS`);
          return;
        case 'iq':
          this.handleIq(element);
          return;
        case 'message':
          this.handleMessage(element);
          return;
        case 'presence':
          this.handlePresence(element);
          return;
        default:
          return;
      }
    } catch (error) {
      if (error instanceof AgentError) this.failLogon(error.kind as ErrorKind, error.message);
      else this.events.error('protocol-error', `<${element.name}>: ${(error as Error).message}`);
    }
  }

  private features(features: XmlElement): void {
    const starttls = child(features, 'starttls', NS_TLS);
    if (!this.tlsActive && !this.authenticated) {
      const mustUse = this.settings.starttls === 'required' || (starttls !== undefined && child(starttls, 'required') !== undefined);
      if (starttls && this.settings.starttls !== 'never') {
        this.stage = 'tls';
        this.write(`<starttls xmlns='${NS_TLS}'/>`);
        return;
      }
      if (mustUse) {
        this.failLogon(starttls ? 'config-error' : 'unsupported', starttls ? `${this.endpoint} requires STARTTLS and the target says starttls: never` : `${this.endpoint} offers no STARTTLS and the target requires it`);
        return;
      }
    }
    if (!this.authenticated) {
      const offered = children(child(features, 'mechanisms', NS_SASL) ?? { name: '', attrs: {}, children: [] }, 'mechanism').map((m) => text(m).trim());
      const mechanism = chooseMechanism(offered, this.settings.sasl);
      if (!mechanism) {
        this.failLogon('unsupported', `${this.endpoint} offers SASL ${offered.join(', ') || 'nothing'}; we speak ${this.settings.sasl === 'auto' ? 'SCRAM-SHA-256, SCRAM-SHA-1, PLAIN' : this.settings.sasl}`);
        return;
      }
      this.stage = 'auth';
      const password = this.identity.password ?? '';
      let initial: string;
      if (mechanism === 'PLAIN') initial = plainMessage(this.identity.name, password);
      else {
        this.scram = new ScramClient(mechanism, this.identity.name, password);
        initial = Buffer.from(this.scram.first()).toString('base64');
      }
      this.write(`<auth xmlns='${NS_SASL}' mechanism='${mechanism}'>${initial}</auth>`);
      return;
    }
    this.stage = 'bind';
    if (!child(features, 'bind', NS_BIND)) {
      this.failLogon('protocol-error', `${this.endpoint} offers no resource binding after authentication`);
      return;
    }
    const session = child(features, 'session', NS_SESSION);
    void this.establish(session !== undefined && child(session, 'optional') === undefined);
  }

  private startTls(): void {
    const raw = this.socket;
    if (!raw) return;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    const secure = upgradeSocket(raw, this.target, this.settings.domain);
    this.attach(secure);
    secure.once('secureConnect', () => {
      this.tlsActive = true;
      this.openStream();
    });
  }

  private sasl(element: XmlElement): void {
    const data = Buffer.from(text(element).trim(), 'base64').toString('utf8');
    switch (element.name) {
      case 'challenge': {
        if (!this.scram) throw new AgentError('protocol-error', 'a SASL challenge for PLAIN', this.endpoint);
        // The second challenge (some servers) carries the server-final message.
        if (data.startsWith('v=') || data.startsWith('e=')) {
          this.verifyScram(data);
          this.write(`<response xmlns='${NS_SASL}'/>`);
          return;
        }
        let response: string;
        try {
          response = this.scram.final(data);
        } catch (error) {
          throw new AgentError('protocol-error', `SCRAM: ${(error as Error).message}`, this.endpoint);
        }
        this.write(`<response xmlns='${NS_SASL}'>${Buffer.from(response).toString('base64')}</response>`);
        return;
      }
      case 'success':
        if (this.scram && data) this.verifyScram(data);
        this.authenticated = true;
        this.measure(performance.now() - this.startedAt);
        // RFC 6120 § 6.4.6: a new stream over the same connection, without a new parser state.
        this.openStream();
        return;
      case 'failure': {
        const condition = children(element).find((c) => localName(c.name) !== 'text');
        this.failLogon('auth-failed', `${this.endpoint} refused SASL for ${this.identity.name}: ${condition ? localName(condition.name) : 'failure'}`);
        return;
      }
    }
  }

  private verifyScram(serverFinal: string): void {
    try {
      this.scram?.verify(serverFinal);
    } catch (error) {
      throw new AgentError('auth-failed', `SCRAM: ${(error as Error).message}`, this.endpoint);
    }
  }

  /** The `register` latency (connect to SASL success), a metric the descriptor declares. */
  private measure(elapsedMs: number): void {
    this.events.metric('register', elapsedMs);
  }

  /** Bind, session, roster, subscriptions to contacts not yet in it, initial presence. */
  private async establish(sessionRequired: boolean): Promise<void> {
    try {
      const bound = await this.iq('set', `<bind xmlns='${NS_BIND}'><resource>${x(this.settings.resource)}</resource></bind>`);
      this.jid = text(child(child(bound, 'bind', NS_BIND) ?? bound, 'jid')).trim() || `${this.bareJid}/${this.settings.resource}`;
      if (sessionRequired) await this.iq('set', `<session xmlns='${NS_SESSION}'/>`);
      const roster = await this.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      const items = new Map<string, XmlElement>();
      for (const item of children(child(roster, 'query', NS_ROSTER) ?? roster, 'item')) items.set(item.attrs.jid ?? '', item);
      let subscribing = 0;
      for (const contact of this.contacts) {
        const jid = `${contact}@${this.settings.domain}`;
        const item = items.get(jid);
        const subscription = item?.attrs.subscription ?? 'none';
        if (subscription === 'to' || subscription === 'both' || item?.attrs.ask === 'subscribe') continue;
        // RFC 6121 § 3.1.1: ask to see the contact's presence; it approves when it logs on (or now).
        this.write(`<presence to='${x(jid)}' type='subscribe'/>`);
        subscribing++;
      }
      if (subscribing > 0) this.events.note('xmpp-live-subscriptions', 'contacts missing from a roster were subscribed to live (RFC 6121 § 3.1); the other end approves');
      // Initial presence (RFC 6121 § 4.2): the server probes our contacts and sends their presence.
      this.write('<presence/>');
      await this.barrier('logon');
      this.stage = 'ready';
      this.loggedOn = true;
      const waiter = this.logonWaiter;
      this.logonWaiter = undefined;
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve();
      }
    } catch (error) {
      const e = error as AgentError;
      this.failLogon((e.kind as ErrorKind) ?? 'protocol-error', `logon of ${this.identity.name}: ${e.message}`);
    }
  }

  private handleIq(iq: XmlElement): void {
    const { type, id = '' } = iq.attrs;
    if (type === 'result' || type === 'error') {
      const wait = this.pending.get(id);
      if (!wait) return;
      this.pending.delete(id);
      clearTimeout(wait.timer);
      if (type === 'result') wait.resolve(iq);
      else wait.reject(new AgentError('protocol-error', `iq ${id} refused: ${errorCondition(iq)}`, this.endpoint));
      return;
    }
    const from = iq.attrs.from;
    const reply = (payload: string) => this.write(`<iq type='${payload ? 'error' : 'result'}' id='${x(id)}'${from ? ` to='${x(from)}'` : ''}>${payload}</iq>`);
    const query = children(iq)[0];
    // Roster pushes (RFC 6121 § 2.1.6) and pings are acknowledged; anything else is not implemented.
    if (query && ((type === 'set' && query.attrs.xmlns === NS_ROSTER) || (type === 'get' && query.attrs.xmlns === NS_PING))) reply('');
    else reply(`<error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`);
  }

  private streamError(element: XmlElement): void {
    const condition = children(element).find((c) => localName(c.name) !== 'text');
    const name = condition ? localName(condition.name) : 'undefined-condition';
    const kind = streamErrorKind(name);
    const detail = text(child(element, 'text'));
    this.lastError = `stream error ${name}${detail ? `: ${detail}` : ''}`;
    if (this.logonWaiter) this.failLogon(kind, `${this.endpoint}: ${this.lastError}`);
    else this.closeKind = kind;
  }

  private streamEnded(): void {
    // The server closed its stream: close ours and the connection.
    if (this.stage === 'closed' || this.leaving) this.socket?.end();
    else this.socket?.end('</stream:stream>');
  }

  private protocolFailure(message: string): void {
    this.lastError = message;
    if (this.logonWaiter) this.failLogon('protocol-error', message);
    else {
      this.closeKind = 'protocol-error';
      this.socket?.destroy();
    }
  }

  private failLogon(kind: ErrorKind, message: string): void {
    const waiter = this.logonWaiter;
    if (!waiter) return;
    this.logonWaiter = undefined;
    clearTimeout(waiter.timer);
    waiter.reject(new AgentError(kind, message, this.endpoint));
    this.destroy();
  }

  private failed(error: NodeJS.ErrnoException): void {
    const kind = socketErrorKind(error);
    this.lastError = `${kind}: ${error.message}`;
    if (this.logonWaiter) this.failLogon(kind, `${this.endpoint}: ${error.message}`);
    else this.closeKind ??= kind;
  }

  private onClose(): void {
    if (this.closeHandled) return;
    this.closeHandled = true;
    const wasReady = this.loggedOn && !this.leaving;
    this.stage = 'closed';
    const reason = this.lastError || 'the server closed the connection';
    this.failLogon(this.closeKind ?? 'unexpected-close', `${this.endpoint}: ${reason} during logon`);
    for (const [, wait] of this.pending) {
      clearTimeout(wait.timer);
      wait.reject(new AgentError('unexpected-close', reason, this.endpoint));
    }
    this.pending.clear();
    for (const room of this.rooms.values()) this.rejectJoin(room, new AgentError('unexpected-close', reason, this.endpoint));
    this.rooms.clear();
    this.loggedOn = false;
    if (this.leaving) {
      const done = this.logoffWaiter;
      this.logoffWaiter = undefined;
      done?.();
    } else if (wasReady) this.events.disconnected(reason, this.closeKind);
  }

  // ---- presence ----

  private handlePresence(presence: XmlElement): void {
    const from = presence.attrs.from ?? '';
    const type = presence.attrs.type ?? '';
    const fromBare = bare(from);
    const domain = fromBare.slice(fromBare.indexOf('@') + 1);
    if (domain === this.settings.mucService && fromBare.includes('@')) {
      this.roomPresence(presence, fromBare, resourceOf(from), type);
      return;
    }
    if (fromBare === this.bareJid || from === '') return;
    if (type === 'subscribe') {
      // A load-test population approves every request from its own domain (RFC 6121 § 3.1.4).
      if (domain === this.settings.domain) this.write(`<presence to='${x(fromBare)}' type='subscribed'/>`);
      return;
    }
    if (type !== '' && type !== 'unavailable') return; // subscribed, unsubscribe(d), probe, error
    const contact = localOf(fromBare);
    if (domain !== this.settings.domain || !this.contacts.has(contact)) return;
    let view = this.contactViews.get(contact);
    if (!view) this.contactViews.set(contact, (view = { online: false }));
    if (type === 'unavailable') {
      view.online = false;
      view.state = undefined;
      view.note = undefined;
      return;
    }
    const state = stateFromShow(text(child(presence, 'show')).trim());
    const note = text(child(presence, 'status'));
    // The first presence of a contact that is (newly) online is its state, not a change.
    const initial = !view.online;
    if (!initial && view.state === state && view.note === note) return; // a repeat
    view.online = true;
    view.state = state;
    view.note = note;
    this.events.presence(contact, state, note, now(), initial);
  }

  setPresence(state: PresenceState, note: string): Promise<void> {
    if (!this.loggedOn) return Promise.reject(new AgentError('send-failed', 'not logged on', this.endpoint));
    const show = showFor(state);
    this.write(`<presence>${show ? `<show>${show}</show>` : ''}<status>${x(note)}</status></presence>`);
    return Promise.resolve();
  }

  // ---- instant messages ----

  message(to: string, body: string): Promise<SendOutcome> {
    if (!this.loggedOn) return Promise.resolve({ ok: false, reason: 'rejected', detail: 'not logged on' });
    const id = this.id('m');
    this.write(`<message type='chat' id='${id}' to='${x(`${to}@${this.settings.domain}`)}'><body>${x(body)}</body></message>`);
    return this.acknowledged([id], 1);
  }

  private async acknowledged(ids: readonly string[], recipientsAtSend: number, counted?: () => number | undefined): Promise<SendOutcome> {
    if (!this.settings.ackMessages) return { ok: true, recipients: recipientsAtSend };
    const waits = ids.map((id) => {
      const wait: SendWait = {};
      this.sends.set(id, wait);
      return wait;
    });
    try {
      await this.barrier();
    } catch (error) {
      const e = error as AgentError;
      return { ok: false, reason: e.kind === 'send-timeout' ? 'timeout' : 'rejected', detail: e.message };
    } finally {
      for (const id of ids) this.sends.delete(id);
    }
    const refused = waits.filter((w) => w.refused);
    if (refused.length === waits.length && refused.length > 0) return { ok: false, ...refused[0]!.refused! };
    const recipients = counted?.() ?? recipientsAtSend;
    return { ok: true, recipients: recipients - refused.length };
  }

  private handleMessage(message: XmlElement): void {
    const type = message.attrs.type ?? 'normal';
    const from = message.attrs.from ?? '';
    const fromBare = bare(from);
    if (type === 'error') {
      const wait = this.sends.get(message.attrs.id ?? '');
      const condition = errorCondition(message);
      if (wait) {
        const offline = condition === 'service-unavailable' || condition === 'recipient-unavailable' || condition === 'item-not-found';
        wait.refused = { reason: offline ? 'offline' : 'rejected', detail: `${fromBare}: ${condition}` };
      } else this.events.error('protocol-error', `message error from ${fromBare}: ${condition}`);
      return;
    }
    const bodyElement = child(message, 'body');
    if (!bodyElement) return; // chat states, subjects, receipts
    const body = text(bodyElement);
    const room = this.rooms.get(fromBare);
    if (room) {
      const nick = resourceOf(from);
      if (nick === '' || child(message, 'delay') !== undefined) return; // room notices, history
      if (type === 'groupchat') {
        if (nick === this.identity.name) {
          // Our own message reflected: not a delivery. The room announced every join and leave it
          // handled before our message ahead of this echo, so its recipients are the occupants now.
          const echo = this.echoes.get(message.attrs.id ?? '');
          if (echo) echo.count = room.occupants.size;
          return;
        }
        this.events.message(nick, body, now(), room.assignment.name);
      } else this.events.message(nick, body, now(), room.assignment.name); // a private message in the room
      return;
    }
    if (type === 'groupchat') return;
    this.events.message(localOf(fromBare) || fromBare, body, now());
  }

  // ---- channels (MUC rooms) ----

  private roomJid(channel: ChannelAssignment): string {
    return `${roomNode(channel.name)}@${this.settings.mucService}`;
  }

  join(channel: ChannelAssignment): Promise<void> {
    if (!this.loggedOn) return Promise.reject(new AgentError('send-failed', 'not logged on', this.endpoint));
    const jid = this.roomJid(channel);
    const room: Room = { assignment: channel, jid, occupants: new Set(), joined: false };
    this.rooms.set(jid, room);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.rejectJoin(room, new AgentError('join-timeout', `no answer to the join of ${jid} within ${this.settings.timeoutMs} ms`, this.endpoint)), this.settings.timeoutMs);
      room.join = { resolve, reject, timer };
      this.write(`<presence to='${x(`${jid}/${this.identity.name}`)}'><x xmlns='${NS_MUC}'><history maxstanzas='0'/></x></presence>`);
    });
  }

  private rejectJoin(room: Room, error: AgentError): void {
    const join = room.join;
    if (!join) return;
    room.join = undefined;
    clearTimeout(join.timer);
    if (this.rooms.get(room.jid) === room && !room.joined) this.rooms.delete(room.jid);
    join.reject(error);
  }

  private roomPresence(presence: XmlElement, roomJid: string, nick: string, type: string): void {
    const room = this.rooms.get(roomJid);
    if (!room) return;
    if (type === 'error') {
      const condition = errorCondition(presence);
      const kind: ErrorKind = condition === 'service-unavailable' || condition === 'resource-constraint' ? 'throttled' : condition === 'not-authorized' ? 'auth-failed' : 'protocol-error';
      if (room.join) this.rejectJoin(room, new AgentError(kind, `${roomJid} refused the join: ${condition}`, this.endpoint));
      else this.events.error(kind, `${roomJid}: ${condition}`);
      return;
    }
    if (nick === '') return; // the room's own presence (ejabberd sends its entity caps), not an occupant
    const mucUser = child(presence, 'x', NS_MUC_USER);
    const codes = new Set(mucUser ? children(mucUser, 'status').map((s) => s.attrs.code) : []);
    const self = codes.has('110') || nick === this.identity.name;
    if (self) {
      if (type === 'unavailable') {
        this.rooms.delete(roomJid);
        return;
      }
      if (codes.has('201')) {
        // A new room waiting for its owner (XEP-0045 § 10.1.2): accept the default configuration.
        void this.iq('set', `<query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'/></query>`, roomJid).catch(() => {});
      }
      // The self-presence comes after every existing occupant's presence (§ 7.2.3): joined.
      room.joined = true;
      const join = room.join;
      room.join = undefined;
      if (join) {
        clearTimeout(join.timer);
        join.resolve();
      }
      return;
    }
    if (type === 'unavailable') room.occupants.delete(nick);
    else if (type === '') room.occupants.add(nick);
  }

  say(channel: ChannelAssignment, body: string, audience: ChannelAudience): Promise<SendOutcome> {
    const room = this.rooms.get(this.roomJid(channel));
    if (!room?.joined) return Promise.resolve({ ok: false, reason: 'rejected', detail: `not in ${channel.name}` });
    if (audience === 'presenters' && channel.auditorium) {
      // MUC has no auditorium: a listener's message goes privately to each presenter present.
      const presenters = channel.presenters.filter((p) => p !== this.identity.name && room.occupants.has(p));
      const ids = presenters.map((p) => {
        const id = this.id('m');
        this.write(`<message type='chat' id='${id}' to='${x(`${room.jid}/${p}`)}'><body>${x(body)}</body></message>`);
        return id;
      });
      if (ids.length === 0) return Promise.resolve({ ok: true, recipients: 0 });
      return this.acknowledged(ids, ids.length);
    }
    const id = this.id('g');
    const echo: { count: number | undefined } = { count: undefined };
    this.echoes.set(id, echo);
    this.write(`<message type='groupchat' id='${id}' to='${x(room.jid)}'><body>${x(body)}</body></message>`);
    // Counted at the echo when the room reflects our id (XEP-0045 § 7.4), else at sending.
    return this.acknowledged([id], room.occupants.size, () => echo.count).finally(() => this.echoes.delete(id));
  }

  part(channel: ChannelAssignment): Promise<void> {
    const jid = this.roomJid(channel);
    const room = this.rooms.get(jid);
    if (!room) return Promise.resolve();
    this.rooms.delete(jid);
    this.write(`<presence to='${x(`${jid}/${this.identity.name}`)}' type='unavailable'/>`);
    return this.barrier('join').then(
      () => undefined,
      () => undefined,
    );
  }

  // ---- leaving ----

  logoff(): Promise<void> {
    if (this.stage === 'closed' || !this.socket) return Promise.resolve();
    this.leaving = true;
    return new Promise<void>((resolve) => {
      this.logoffWaiter = resolve;
      // RFC 6121 § 4.5: unavailable presence, then the stream's end; the server closes after it.
      this.write(`<presence type='unavailable'/></stream:stream>`);
      this.socket?.end();
    });
  }

  destroy(): void {
    this.leaving = true;
    this.stage = 'closed';
    this.socket?.destroy();
  }
}
