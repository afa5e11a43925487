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
import type { CallbackListener } from './callback-listener.js';
import { Credentials } from './credentials.js';
import type { RvpAgentSettings } from './settings.js';
import type { Requester, RvpTransport } from './transport.js';

interface Subscription {
  readonly alias: string;
  readonly id: string;
  expiresAt: number;
}

const NO_HEADERS: readonly (readonly [string, string])[] = [];

export class RvpVirtualUser implements VirtualUser, Requester {
  readonly principalUrl: string;
  readonly credentials: Credentials | undefined;
  private login: Subscription | undefined;
  private readonly contacts = new Map<string, Subscription>();
  private viewId: string | undefined;
  private state: PresenceState = 'online';
  private note = '';
  private readonly sessions = new Map<string, string>();
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
  }

  get events(): VuEvents {
    return this.sink;
  }

  async logon(): Promise<void> {
    this.active = true;
    this.listener.register(this.identity.index, {
      handle: (request, receivedAt) => this.onNotify(request, receivedAt),
      bytes: (inBytes, outBytes) => this.events.bytes(inBytes, outBytes),
    });
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
    await Promise.all(this.identity.contacts.map((contact) => this.watch(contact, 'logon')));
    this.scheduleRenewal();
  }

  async message(to: string, text: string): Promise<SendOutcome> {
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
      await Promise.all([...this.contacts.values()].map((subscription) => this.unwatch(subscription)));
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

  private async watch(contact: string, operation: Operation): Promise<void> {
    try {
      const response = await this.request(operation, contact, 'SUBSCRIBE', [
        ['Notification-Type', 'update/propchange'],
        ['Call-Back', this.principalUrl],
        ['Subscription-Lifetime', String(this.settings.subscriptionLifetime)],
      ]);
      this.contacts.set(contact, this.expectSubscription(response, contact, 'contact SUBSCRIBE', 207));
      this.reportInitialPresence(contact, response);
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

  private async unwatch(subscription: Subscription): Promise<void> {
    try {
      const response = await this.request('logoff', subscription.alias, 'UNSUBSCRIBE', [['Subscription-Id', subscription.id]]);
      if (response.status !== 200) this.events.error(response.status >= 500 ? 'server-error' : 'protocol-error', `UNSUBSCRIBE ${subscription.alias}: ${response.status} ${response.reason}`);
    } catch (error) {
      if (!(error instanceof AgentError)) throw error;
      this.events.error(error.kind, error.message);
    } finally {
      this.contacts.delete(subscription.alias);
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
    return { alias, id: id.trim(), expiresAt: Date.now() + lifetime * 1000 };
  }

  /** One timer per user: wakes for the subscription that expires first, renews what is due. */
  private scheduleRenewal(): void {
    clearTimeout(this.renewTimer);
    if (!this.active || this.login === undefined) return;
    let first = this.login.expiresAt;
    for (const subscription of this.contacts.values()) first = Math.min(first, subscription.expiresAt);
    const lifetimeMs = this.settings.subscriptionLifetime * 1000;
    const leadMs = Math.min(this.settings.renewBeforeSeconds * 1000, lifetimeMs / 2);
    this.renewTimer = setTimeout(() => void this.renewDue(), Math.max(0, first - leadMs - Date.now()));
    this.renewTimer.unref();
  }

  private async renewDue(): Promise<void> {
    const lifetimeMs = this.settings.subscriptionLifetime * 1000;
    const horizon = Date.now() + Math.min(this.settings.renewBeforeSeconds * 1000, lifetimeMs / 2);
    const due = [this.login!, ...this.contacts.values()].filter((s) => s.expiresAt <= horizon);
    await Promise.all(due.map((subscription) => this.renew(subscription)));
    this.scheduleRenewal();
  }

  /** Renewal: Subscription-Id and Subscription-Lifetime only (§6.1); re-subscribe if it is gone. */
  private async renew(subscription: Subscription): Promise<void> {
    try {
      const response = await this.request('refresh', subscription.alias, 'SUBSCRIBE', [
        ['Subscription-Id', subscription.id],
        ['Subscription-Lifetime', String(this.settings.subscriptionLifetime)],
      ]);
      if (response.status === 200) {
        const granted = Number(response.headers.map.get('subscription-lifetime') ?? this.settings.subscriptionLifetime);
        subscription.expiresAt = Date.now() + (Number.isFinite(granted) && granted > 0 ? granted : this.settings.subscriptionLifetime) * 1000;
        return;
      }
      this.events.error(response.status >= 500 ? 'server-error' : 'protocol-error', `renewal of ${subscription.alias}: ${response.status} ${response.reason}; subscribing again`);
      if (subscription === this.login) {
        const login = await this.request('refresh', this.identity.name, 'SUBSCRIBE', [
          ['Notification-Type', 'pragma/notify'],
          ['Call-Back', this.listener.urlFor(this.identity.index)],
          ['Subscription-Lifetime', String(this.settings.subscriptionLifetime)],
        ]);
        this.login = this.expectSubscription(login, this.identity.name, 'login SUBSCRIBE', 200);
      } else {
        this.contacts.delete(subscription.alias);
        await this.watch(subscription.alias, 'refresh');
      }
    } catch (error) {
      if (!(error instanceof AgentError)) throw error;
      this.events.error(error.kind, error.message);
      // Keep the entry so the next timer tries again in 30 s.
      subscription.expiresAt = Date.now() + 30_000;
    }
  }

  /** A failure nobody awaits (a lease refresh) is counted once, here. */
  private countSwallowed(error: unknown): void {
    if (error instanceof AgentError) this.events.error(error.kind, error.message);
    else this.events.error('presence-failed', error instanceof Error ? error.message : String(error));
  }

  private stopTimers(): void {
    clearTimeout(this.leaseTimer);
    clearTimeout(this.renewTimer);
    this.leaseTimer = undefined;
    this.renewTimer = undefined;
  }

  /** A NOTIFY on our callback path: an IM or a contact's presence change. */
  private onNotify(request: HttpRequest, receivedAt: number): number {
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
