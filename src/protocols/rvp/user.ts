/**
 * One RVP virtual user, behaving as Windows Messenger against Exchange 2000 IM
 * (research/rvp.md §11): login SUBSCRIBE (pragma/notify, Call-Back = our listener path),
 * ACL read, leased presence via PROPPATCH (refreshed), one update/propchange SUBSCRIBE per
 * contact, renewals before expiry, IMs as NOTIFY, logoff = PROPPATCH offline + UNSUBSCRIBEs.
 */
import type { HttpRequest, HttpResponse } from './wire/http1.js';
import { XmlError } from './wire/xml.js';
import {
  type ChannelAssignment,
  type PresenceState,
  type SendOutcome,
  type VirtualUser,
  type VuEvents,
  type VuIdentity,
} from '../types.js';
import { AgentError, type Operation } from '../errors.js';
import { NotificationError, instantMessage, newSessionId, parseCurrentPresence, parseNotification, presencePatch, toPresenceState } from './bodies.js';
import type { CallbackListener, CallbackRoute } from './callback-listener.js';
import { Credentials } from './credentials.js';
import type { RvpAgentSettings } from './settings.js';
import type { Requester, RvpTransport } from './transport.js';

/** A subscription the server granted: its id and when it expires (epoch ms). */
interface Subscription {
  readonly id: string;
  expiresAt: number;
}

const NO_HEADERS: readonly (readonly [string, string])[] = [];

/**
 * The user is its own callback route (`handle`, `bytes`): no per-user route object and
 * closures (under tsx's keepNames two named closures and their object took ~760 bytes a user).
 */
export class RvpVirtualUser implements VirtualUser, Requester, CallbackRoute {
  readonly principalUrl: string;
  readonly credentials: Credentials | undefined;
  private login: Subscription | undefined;
  /**
   * The contacts' subscriptions, by the contact's position in `identity.contacts`: the
   * server's id (undefined: not watched) and the expiry (epoch ms). Parallel arrays, not a Map
   * of objects: for 20 watches a Map of { alias, id, expiresAt } took 2,252 bytes of heap per
   * user (its table, 20 objects, 20 boxed numbers), these arrays 465 (the ids aside; measured
   * over 10,000 users with v8.getHeapStatistics after gc, Node 20). A plain array of numbers
   * (unboxed doubles), not a Float64Array: 216 bytes for 20 against 352 with its ArrayBuffer.
   */
  private readonly watchIds: (string | undefined)[];
  private readonly watchExpiresAt: number[];
  private viewId: string | undefined;
  private state: PresenceState = 'online';
  private note = '';
  /** Session-Id per conversation partner; made on the first IM (most users send few or none). */
  private sessions: Map<string, string> | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private active = false;
  private noteMissingReported = false;

  /**
   * Where this user's events go. Once the engine gives up on the user (`destroy`, after a
   * logon or logoff timeout), requests of it still queued in the shared pool fail later, one
   * by one (or all at once when the worker closes the pool): those failures are not reported
   * again — the timeout that made the engine give up already counted this user's failure.
   * Bytes still count: they crossed the wire.
   */
  private sink: VuEvents;

  constructor(
    private readonly identity: VuIdentity,
    events: VuEvents,
    private readonly settings: RvpAgentSettings,
    private readonly transport: RvpTransport,
    private readonly listener: CallbackListener,
  ) {
    this.sink = events;
    this.principalUrl = this.logicalUrl(identity.name);
    const user = settings.authUser.replace('{name}', identity.name);
    this.credentials = identity.password === undefined ? undefined : new Credentials(user, identity.password);
    this.watchIds = new Array<string | undefined>(identity.contacts.length).fill(undefined);
    this.watchExpiresAt = new Array<number>(identity.contacts.length).fill(0);
  }

  get events(): VuEvents {
    return this.sink;
  }

  async logon(): Promise<void> {
    this.active = true;
    this.listener.register(this.identity.index, this);
    const name = this.identity.name;
    const loginStart = performance.now();
    const login = await this.request('logon', name, 'SUBSCRIBE', [
      ['Notification-Type', 'pragma/notify'],
      ['Call-Back', this.listener.urlFor(this.identity.index)],
      ['Subscription-Lifetime', String(this.settings.subscriptionLifetime)],
    ]);
    this.login = this.expectSubscription(login, name, 'login SUBSCRIBE', 200);
    // Admitted: the login SUBSCRIBE's 200, the router's 302 and the Digest leg included.
    this.events.metric('register', performance.now() - loginStart);
    if (this.settings.aclAtLogon) {
      const acl = await this.request('logon', name, 'ACL', NO_HEADERS);
      if (acl.status !== 200) this.events.note('rvp-acl', `ACL on the own node answered ${acl.status}; continuing`);
    }
    this.state = 'online';
    this.note = '';
    await this.patchPresence('logon');
    await Promise.all(this.identity.contacts.map((_, contact) => this.watch(contact, 'logon')));
    this.scheduleRenewal();
  }

  async message(to: string, text: string): Promise<SendOutcome> {
    this.sessions ??= new Map();
    let sessionId = this.sessions.get(to);
    if (sessionId === undefined) {
      sessionId = newSessionId();
      this.sessions.set(to, sessionId);
    }
    const body = instantMessage(this.principalUrl, this.logicalUrl(to), text, sessionId);
    let response: HttpResponse;
    try {
      response = await this.transport.send(this, 'send', to, 'NOTIFY', [
        ['RVP-Ack-Type', 'DeepOr'],
        ['RVP-Hop-Count', '1'],
        ['Content-Type', 'text/xml'],
      ], body);
    } catch (error) {
      if (error instanceof AgentError && error.kind === 'send-timeout') return { ok: false, reason: 'timeout', detail: error.message };
      throw error;
    }
    if (response.status >= 200 && response.status < 300) return { ok: true, recipients: 1 };
    if (response.status === 412) return { ok: false, reason: 'offline', detail: '412 Precondition Failed' };
    // The engine counts the rejection (send-rejected, with this detail): not counted here too.
    return { ok: false, reason: 'rejected', detail: `${response.status} ${response.reason}` };
  }

  async setPresence(state: PresenceState, note: string): Promise<void> {
    this.state = state;
    this.note = note;
    await this.patchPresence('presence');
  }

  async logoff(): Promise<void> {
    this.stopTimers();
    try {
      this.state = 'offline';
      // No note: the last one carries the last change's stamp, and watchers would count the
      // logoff notification as a second sighting of that change.
      this.note = '';
      await this.patchPresence('logoff');
      // One UNSUBSCRIBE per contact (KB298421); the login subscription is left to expire (§11).
      const watched = this.identity.contacts.flatMap((_, contact) => (this.watchIds[contact] === undefined ? [] : [contact]));
      await Promise.all(watched.map((contact) => this.unwatch(contact)));
    } finally {
      this.active = false;
      this.listener.unregister(this.identity.index);
    }
  }

  destroy(): void {
    if (this.active) this.sink = bytesOnly(this.sink);
    this.active = false;
    this.stopTimers();
    this.listener.unregister(this.identity.index);
  }

  join(_channel: ChannelAssignment): Promise<void> {
    return Promise.reject(new AgentError('unsupported', 'RVP has no channels'));
  }

  say(_channel: ChannelAssignment): Promise<SendOutcome> {
    return Promise.reject(new AgentError('unsupported', 'RVP has no channels'));
  }

  part(_channel: ChannelAssignment): Promise<void> {
    return Promise.reject(new AgentError('unsupported', 'RVP has no channels'));
  }

  private logicalUrl(alias: string): string {
    return `http://${this.settings.domain}/instmsg/aliases/${encodeURIComponent(alias)}`;
  }

  private request(operation: Operation, alias: string, method: string, headers: readonly (readonly [string, string])[], body = ''): Promise<HttpResponse> {
    return this.transport.send(this, operation, alias, method, headers, body);
  }

  /** PROPPATCH of r:state (leased) and the note; keeps the view-id the server assigned (§6.5). */
  private async patchPresence(operation: Operation): Promise<void> {
    clearTimeout(this.leaseTimer);
    const response = await this.request(operation, this.identity.name, 'PROPPATCH', [['Content-Type', 'text/xml']],
      presencePatch(this.state, this.settings.leaseSeconds, this.viewId, this.note));
    if (response.status !== 207 && response.status !== 200) {
      throw new AgentError(response.status >= 500 ? 'server-error' : 'protocol-error', `PROPPATCH of the own state answered ${response.status} ${response.reason}`, this.transport.endpoint, String(response.status));
    }
    const viewId = /<(?:\w+:)?view-id>\s*([^<\s]+)\s*</.exec(response.body.toString('utf8'))?.[1];
    if (viewId !== undefined) this.viewId = viewId;
    if (this.active && this.state !== 'offline') {
      this.leaseTimer = setTimeout(() => this.refreshLease(), this.settings.leaseRefreshSeconds * 1000);
      this.leaseTimer.unref();
    }
  }

  private refreshLease(): void {
    // Nobody awaits a refresh: its failure is counted here; the next refresh or renewal tries again.
    this.patchPresence('refresh').catch((error: unknown) => this.countSwallowed(error));
  }

  /** Subscribes to the presence of `identity.contacts[contact]`. */
  private async watch(contact: number, operation: Operation): Promise<void> {
    const alias = this.identity.contacts[contact]!;
    try {
      const response = await this.request(operation, alias, 'SUBSCRIBE', [
        ['Notification-Type', 'update/propchange'],
        ['Call-Back', this.principalUrl],
        ['Subscription-Lifetime', String(this.settings.subscriptionLifetime)],
      ]);
      const subscription = this.expectSubscription(response, alias, 'contact SUBSCRIBE', 207);
      this.watchIds[contact] = subscription.id;
      this.watchExpiresAt[contact] = subscription.expiresAt;
      this.reportInitialPresence(alias, response);
    } catch (error) {
      // One unreachable contact does not fail the logon; it is counted and left unwatched.
      if (!(error instanceof AgentError)) throw error;
      this.events.error(error.kind, error.message);
    }
  }

  /**
   * The state a new subscription answers with is where the contact stands now, not a change:
   * it goes to the engine marked `initial`, so it is never counted as propagation.
   */
  private reportInitialPresence(contact: string, response: HttpResponse): void {
    let current;
    try {
      current = parseCurrentPresence(response.body.toString('utf8'));
    } catch (error) {
      if (!(error instanceof XmlError)) throw error;
      this.events.error('protocol-error', `contact SUBSCRIBE ${contact}: bad 207 body: ${error.message}`);
      return;
    }
    if (current === undefined) return;
    const receivedAt = performance.timeOrigin + performance.now();
    this.events.presence(contact, toPresenceState(current.status) ?? 'away', current.note ?? '', receivedAt, true);
  }

  private async unwatch(contact: number): Promise<void> {
    const alias = this.identity.contacts[contact]!;
    try {
      const response = await this.request('logoff', alias, 'UNSUBSCRIBE', [['Subscription-Id', this.watchIds[contact]!]]);
      if (response.status !== 200) this.events.error(response.status >= 500 ? 'server-error' : 'protocol-error', `UNSUBSCRIBE ${alias}: ${response.status} ${response.reason}`);
    } catch (error) {
      if (!(error instanceof AgentError)) throw error;
      this.events.error(error.kind, error.message);
    } finally {
      this.watchIds[contact] = undefined;
    }
  }

  private expectSubscription(response: HttpResponse, alias: string, what: string, expected: number): Subscription {
    const id = response.headers.map.get('subscription-id');
    if ((response.status !== expected && response.status !== 200) || id === undefined) {
      const kind = response.status >= 500 ? 'server-error' : 'protocol-error';
      throw new AgentError(kind, `${what} ${alias} answered ${response.status} ${response.reason}`, this.transport.endpoint, String(response.status));
    }
    const granted = Number(response.headers.map.get('subscription-lifetime') ?? this.settings.subscriptionLifetime);
    const lifetime = Number.isFinite(granted) && granted > 0 ? granted : this.settings.subscriptionLifetime;
    return { id: id.trim(), expiresAt: Date.now() + lifetime * 1000 };
  }

  /** One timer per user: wakes for the subscription that expires first, renews what is due. */
  private scheduleRenewal(): void {
    clearTimeout(this.renewTimer);
    if (!this.active || this.login === undefined) return;
    let first = this.login.expiresAt;
    for (let contact = 0; contact < this.watchIds.length; contact++) {
      if (this.watchIds[contact] !== undefined) first = Math.min(first, this.watchExpiresAt[contact]!);
    }
    const lifetimeMs = this.settings.subscriptionLifetime * 1000;
    const leadMs = Math.min(this.settings.renewBeforeSeconds * 1000, lifetimeMs / 2);
    this.renewTimer = setTimeout(() => void this.renewDue(), Math.max(0, first - leadMs - Date.now()));
    this.renewTimer.unref();
  }

  private async renewDue(): Promise<void> {
    const lifetimeMs = this.settings.subscriptionLifetime * 1000;
    const horizon = Date.now() + Math.min(this.settings.renewBeforeSeconds * 1000, lifetimeMs / 2);
    const renewals: Promise<void>[] = [];
    if (this.login!.expiresAt <= horizon) renewals.push(this.renewLogin());
    for (let contact = 0; contact < this.watchIds.length; contact++) {
      if (this.watchIds[contact] !== undefined && this.watchExpiresAt[contact]! <= horizon) renewals.push(this.renewWatch(contact));
    }
    await Promise.all(renewals);
    this.scheduleRenewal();
  }

  private async renewLogin(): Promise<void> {
    const login = this.login!;
    const name = this.identity.name;
    try {
      const renewed = await this.refresh(name, login.id);
      if (renewed !== undefined) {
        login.expiresAt = renewed;
        return;
      }
      const response = await this.request('refresh', name, 'SUBSCRIBE', [
        ['Notification-Type', 'pragma/notify'],
        ['Call-Back', this.listener.urlFor(this.identity.index)],
        ['Subscription-Lifetime', String(this.settings.subscriptionLifetime)],
      ]);
      this.login = this.expectSubscription(response, name, 'login SUBSCRIBE', 200);
    } catch (error) {
      if (!(error instanceof AgentError)) throw error;
      // Keep the entry so the next timer tries again in 30 s; the failure is already counted.
      login.expiresAt = Date.now() + 30_000;
    }
  }

  private async renewWatch(contact: number): Promise<void> {
    try {
      const renewed = await this.refresh(this.identity.contacts[contact]!, this.watchIds[contact]!);
      if (renewed !== undefined) {
        this.watchExpiresAt[contact] = renewed;
        return;
      }
      this.watchIds[contact] = undefined;
      await this.watch(contact, 'refresh');
    } catch (error) {
      if (!(error instanceof AgentError)) throw error;
      this.events.error(error.kind, error.message);
      this.watchExpiresAt[contact] = Date.now() + 30_000;
    }
  }

  /**
   * Renewal: Subscription-Id and Subscription-Lifetime only (§6.1). The new expiry, or
   * undefined when the server refused it (counted; the caller subscribes again).
   */
  private async refresh(alias: string, id: string): Promise<number | undefined> {
    const response = await this.request('refresh', alias, 'SUBSCRIBE', [
      ['Subscription-Id', id],
      ['Subscription-Lifetime', String(this.settings.subscriptionLifetime)],
    ]);
    if (response.status === 200) {
      const granted = Number(response.headers.map.get('subscription-lifetime') ?? this.settings.subscriptionLifetime);
      return Date.now() + (Number.isFinite(granted) && granted > 0 ? granted : this.settings.subscriptionLifetime) * 1000;
    }
    this.events.error(response.status >= 500 ? 'server-error' : 'protocol-error', `renewal of ${alias}: ${response.status} ${response.reason}; subscribing again`);
    return undefined;
  }

  /** A failure nobody awaits (a lease refresh) is counted once, here. */
  private countSwallowed(error: unknown): void {
    if (error instanceof AgentError) this.events.error(error.kind, error.message);
    else this.events.error('presence-failed', error instanceof Error ? error.message : String(error));
  }

  /** CallbackRoute: the bytes of a NOTIFY to this user and of its answer. */
  bytes(inBytes: number, outBytes: number): void {
    this.events.bytes(inBytes, outBytes);
  }

  private stopTimers(): void {
    clearTimeout(this.leaseTimer);
    clearTimeout(this.renewTimer);
    this.leaseTimer = undefined;
    this.renewTimer = undefined;
  }

  /** A NOTIFY on our callback path (CallbackRoute): an IM or a contact's presence change. */
  handle(request: HttpRequest, receivedAt: number): number {
    if (!this.active) return 412;
    let notification;
    try {
      notification = parseNotification(request.body.toString('utf8'));
    } catch (error) {
      if (!(error instanceof XmlError) && !(error instanceof NotificationError)) throw error;
      this.events.error('protocol-error', `bad NOTIFY body: ${error.message}`);
      return 400;
    }
    if (notification.kind === 'message') {
      // Typing, join and leave controls (text/x-msmsgscontrol, text/x-imleave) are not messages.
      if (notification.contentType === 'text/plain') this.events.message(notification.from, notification.text, receivedAt);
      return 200;
    }
    if (notification.status === undefined) return 200;
    const state = toPresenceState(notification.status);
    if (state === undefined) {
      this.events.note('rvp-unknown-status', `unknown RVP status "${notification.status}" reported as away`);
    }
    if (notification.note === undefined && !this.noteMissingReported) {
      this.noteMissingReported = true;
      this.events.note('rvp-note', 'the server did not relay the presence note property (i:note): presence is matched by r:state and the schedule');
    }
    this.events.presence(notification.from, state ?? 'away', notification.note ?? '', receivedAt);
    return 200;
  }
}

/** The events of an abandoned user: bytes only (see `RvpVirtualUser.sink`). */
function bytesOnly(events: VuEvents): VuEvents {
  const ignore = () => {};
  return {
    bytes: (inBytes, outBytes) => events.bytes(inBytes, outBytes),
    message: ignore,
    presence: ignore,
    metric: ignore,
    error: ignore,
    disconnected: ignore,
    note: ignore,
  };
}
