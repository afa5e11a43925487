/**
 * A SIP virtual user: logon = REGISTER + PUBLISH own presence + SUBSCRIBE to each contact,
 * ready when every subscription's first NOTIFY arrived; IM = pager-mode MESSAGE (RFC 3428).
 * SIP has no channels, so join/say/part reject with AgentError('unsupported').
 */
import {
  type ChannelAssignment,
  type PresenceState,
  type SendOutcome,
  type VirtualUser,
  type VuEvents,
  type VuIdentity,
} from '../types.js';
import { AgentError, type ErrorKind } from '../errors.js';
import { withDeadline } from '../deadline.js';
import { nameAddrUri, tagOf, uriUser } from './address.js';
import type { SipChannel } from './channel.js';
import { answerSessionRequest, sendInSession } from './im-session.js';
import type { SipRequest } from './message.js';
import { agentErrorFor } from './outcome.js';
import { Publication } from './publication.js';
import { FRONT_END_HEADER } from './pool-config.js';
import { countPoolFailover } from './pool-failover.js';
import { Registration } from './registration.js';
import type { SipAgentSettings } from './settings.js';
import { Subscription, type SubscriptionOwner } from './subscription.js';
import { SipTimeoutError, type ServerTransactionCache } from './transactions.js';
import { SequenceCounter, UserAgent, type ResponseSpec, type UaOwner } from './ua.js';

/** What a user needs from its agent: settings and a way to get a transport channel. */
export interface UserContext {
  readonly settings: SipAgentSettings;
  readonly endpoint: string;
  /** Opens (TCP/TLS) or attaches (UDP) this user's channel. */
  openChannel(identity: VuIdentity, ua: UserAgent): Promise<SipChannel>;
  /** Answers to incoming requests, shared by the agent's users (UDP only). */
  readonly serverCache?: ServerTransactionCache<ResponseSpec>;
}

type Phase = 'idle' | 'logging-on' | 'online' | 'logging-off' | 'closed';

const ALLOW = 'INVITE, ACK, BYE, MESSAGE, NOTIFY, OPTIONS';
/**
 * Answers to NOTIFY, the request a user receives most (twenty at each logon): one object each,
 * since the agent keeps what it answered for 64·T1 (ServerTransactionCache).
 */
const NOTIFY_OK: ResponseSpec = { status: 200, reason: 'OK' };
const NO_SUBSCRIPTION: ResponseSpec = { status: 481, reason: 'Subscription Does Not Exist' };
/** How long a failed logon waits for its un-REGISTER before closing. */
const WITHDRAW_WAIT_MS = 2000;

export class SipVirtualUser implements VirtualUser, SubscriptionOwner, UaOwner {
  readonly ua: UserAgent;
  private phase: Phase = 'idle';
  private registration: Registration | undefined;

  /** The pool front end holding this user's binding (kamailio-pool lab), once registered. */
  get frontEnd(): string | undefined {
    return this.registration?.frontEnd;
  }
  private publication: Publication | undefined;
  /**
   * One per contact, found by the number in a NOTIFY's To tag (our From tag): a list of twenty
   * searched by number, not a Map keyed by Call-ID (its table is ~950 bytes a user).
   */
  private subscriptions: Subscription[] = [];
  /** SubscriptionOwner: what this user's SUBSCRIBEs ask for (the setting, raised by a 423's Min-Expires). */
  subscribeExpires: number;
  /** Subscriptions whose first NOTIFY logon still waits for, and how it is told. */
  private firstNotifiesMissing = 0;
  private firstNotifies: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(
    private readonly identity: VuIdentity,
    readonly events: VuEvents,
    private readonly context: UserContext,
  ) {
    const settings = context.settings;
    this.subscribeExpires = settings.subscribeExpires;
    this.ua = new UserAgent(
      {
        index: identity.index,
        user: identity.name,
        password: identity.password,
        domain: settings.domain,
        timers: settings.timers,
        instanceTag: settings.instanceTag,
        serverCache: context.serverCache,
      },
      events,
    );
    this.ua.serve(this);
  }

  /** Also callable again after a logoff, a failed logon or a lost connection: it starts afresh. */
  async logon(): Promise<void> {
    if (this.phase !== 'idle' && this.phase !== 'closed') {
      throw new AgentError('protocol-error', `logon while ${this.phase}`, this.context.endpoint);
    }
    this.phase = 'logging-on';
    this.subscriptions = [];
    const settings = this.context.settings;
    let registeredOk = false;
    try {
      this.ua.attach(await this.context.openChannel(this.identity, this.ua));
      this.registration = new Registration(this.ua, settings.domain, settings.registerExpires, this.events);
      const registerStart = performance.now();
      const registered = await this.registration.register();
      if (registered.status >= 300) throw agentErrorFor('REGISTER', registered, this.context.endpoint, 'logon');
      registeredOk = true;
      this.events.metric('register', performance.now() - registerStart);

      this.publication = new Publication(this.ua, settings.publishExpires, this.events);
      const published = await this.publication.publish('online', '');
      if (published.status >= 300) throw agentErrorFor('PUBLISH', published, this.context.endpoint, 'logon');

      const firstNotifies = new Promise<void>((resolve, reject) => (this.firstNotifies = { resolve, reject }));
      this.firstNotifiesMissing = this.identity.contacts.length;
      if (this.firstNotifiesMissing === 0) this.firstNotifies?.resolve();
      this.subscriptions = this.identity.contacts.map((contact) => new Subscription(contact, this));
      for (const subscription of this.subscriptions) subscription.start();
      await withDeadline(firstNotifies, settings.logonTimeoutMs, 'logon-timeout', 'first NOTIFY of every subscription');
      this.firstNotifies = undefined;
      this.phase = 'online';
    } catch (failure) {
      this.firstNotifies = undefined;
      await this.withdrawBinding(registeredOk);
      this.shutdown('logon failed');
      throw agentErrorFor('logon', failure, this.context.endpoint, 'logon');
    }
  }

  /**
   * After a logon that failed past its REGISTER, removes the binding (best effort, briefly), so
   * the registrar neither counts a user imload does not nor relays MESSAGEs to a socket that is
   * gone; without it a UDP binding lives on for its whole expiry.
   */
  private async withdrawBinding(registered: boolean): Promise<void> {
    if (!registered || this.registration === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.registration.unregister().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, WITHDRAW_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  /** SubscriptionOwner: the domain the contacts' AORs are in. */
  get domain(): string {
    return this.context.settings.domain;
  }

  /** SubscriptionOwner: a NOTIFY carried a presence the contact had not just shown. */
  presenceSeen(contact: string, state: PresenceState, note: string, receivedAt: number, initial: boolean): void {
    this.events.presence(contact, state, note, receivedAt, initial);
  }

  /** SubscriptionOwner: logon is ready once every subscription has had its first NOTIFY. */
  firstNotifyArrived(): void {
    if (--this.firstNotifiesMissing === 0) this.firstNotifies?.resolve();
  }

  /** SubscriptionOwner: one subscription failing fails the logon (as Promise.all would). */
  firstNotifyFailed(error: Error): void {
    this.firstNotifies?.reject(error);
  }

  /** The subscription a NOTIFY belongs to: its To tag is one of ours and its Call-ID matches. */
  private subscriptionOf(request: SipRequest): Subscription | undefined {
    const dialog = this.ua.tagNumber(tagOf(request.headers.get('To')));
    if (dialog === undefined) return undefined;
    const subscription = this.subscriptions.find((s) => s.dialog === dialog);
    return subscription !== undefined && subscription.callId === request.headers.get('Call-ID') ? subscription : undefined;
  }

  /** @internal UaOwner: every incoming request is answered; MESSAGE and NOTIFY also reach the engine. */
  answer(request: SipRequest, receivedAt: number): ResponseSpec {
    switch (request.method) {
      case 'MESSAGE': {
        const from = uriUser(nameAddrUri(request.headers.get('From') ?? '') ?? '') ?? '';
        // kamailio-pool lab: the front end that relayed the MESSAGE names itself; ours named
        // itself in the REGISTER 200. The engine times the delivery apart too, within one front
        // end or across two (the sender's front end relays the MESSAGE).
        const via = request.headers.get(FRONT_END_HEADER);
        const own = this.registration?.frontEnd;
        const split = via === undefined || own === undefined ? undefined : via === own ? 'deliverySameFrontEnd' : 'deliveryCrossFrontEnd';
        this.events.message(from, request.body.toString('utf8'), receivedAt, undefined, split);
        return { status: 200, reason: 'OK' };
      }
      case 'NOTIFY': {
        const subscription = this.subscriptionOf(request);
        if (subscription === undefined) return NO_SUBSCRIPTION;
        subscription.handleNotify(request, receivedAt);
        return NOTIFY_OK;
      }
      case 'OPTIONS':
        return { status: 200, reason: 'OK', headers: [['Allow', ALLOW]] };
      case 'INVITE':
      case 'BYE':
        return answerSessionRequest(request, this.ua.contactUri(), this.identity.name, this.ua.localHost)!;
      default:
        return { status: 405, reason: 'Method Not Allowed', headers: [['Allow', ALLOW]] };
    }
  }

  async message(to: string, text: string): Promise<SendOutcome> {
    if (this.phase !== 'online') return { ok: false, reason: 'rejected', detail: `not online (${this.phase})` };
    const uri = `sip:${to}@${this.context.settings.domain}`;
    if (this.context.settings.imMode === 'session') return sendInSession(this.ua, this.events, this.identity.name, this.ua.localHost, uri, text);
    try {
      const response = await this.ua.request({
        method: 'MESSAGE',
        uri,
        to: `<${uri}>`,
        fromTag: this.ua.newTag(),
        callId: this.ua.newCallId(),
        cseq: new SequenceCounter(),
        contentType: 'text/plain;charset=UTF-8',
        body: text,
      });
      if (response.status >= 200 && response.status < 300) {
        countPoolFailover(this.events, 'MESSAGE', response);
        return { ok: true, recipients: 1 };
      }
      const detail = `${response.status} ${response.reason}`;
      if (response.status === 404 || response.status === 480) return { ok: false, reason: 'offline', detail };
      if (response.status === 408) return { ok: false, reason: 'timeout', detail };
      return { ok: false, reason: 'rejected', detail };
    } catch (failure) {
      if (failure instanceof SipTimeoutError) return { ok: false, reason: 'timeout', detail: failure.message };
      return { ok: false, reason: 'rejected', detail: failure instanceof Error ? failure.message : String(failure) };
    }
  }

  async setPresence(state: PresenceState, note: string): Promise<void> {
    if (this.phase !== 'online' || this.publication === undefined) {
      throw new AgentError('protocol-error', `setPresence while ${this.phase}`, this.context.endpoint);
    }
    const response = await this.publication.publish(state, note).catch((failure: unknown) => {
      throw agentErrorFor('PUBLISH', failure, this.context.endpoint, 'presence');
    });
    if (response.status >= 300) throw agentErrorFor('PUBLISH', response, this.context.endpoint, 'presence');
  }

  join(_channel: ChannelAssignment): Promise<void> {
    return Promise.reject(this.noChannels());
  }

  say(): Promise<SendOutcome> {
    return Promise.reject(this.noChannels());
  }

  part(_channel: ChannelAssignment): Promise<void> {
    return Promise.reject(this.noChannels());
  }

  private noChannels(): AgentError {
    return new AgentError('unsupported', 'SIP has no chat channels', this.context.endpoint);
  }

  /**
   * un-SUBSCRIBE every contact, remove the published state, remove the binding (all Expires: 0).
   * Rejects only when the un-REGISTER fails: that is the part the server's online count sees.
   */
  async logoff(): Promise<void> {
    if (this.phase !== 'online') {
      this.shutdown('logoff');
      return;
    }
    this.phase = 'logging-off';
    try {
      await Promise.all(this.subscriptions.map((s) => s.stop(this.context.settings.finalNotifyWaitMs)));
      await this.unpublish();
      const unregistered = await this.registration!.unregister();
      if (unregistered.status >= 300) throw agentErrorFor('un-REGISTER', unregistered, this.context.endpoint, 'logoff');
    } catch (failure) {
      throw agentErrorFor('logoff', failure, this.context.endpoint, 'logoff');
    } finally {
      this.shutdown('logoff');
    }
  }

  /** Removes the published state; a failure is reported but does not stop the logoff. */
  private async unpublish(): Promise<void> {
    try {
      const response = await this.publication?.unpublish();
      if (response === undefined || response.status < 300) return;
      throw response;
    } catch (failure) {
      // After a destroy (the engine gave up on this logoff and counted that) it is not news.
      if (this.phase === 'closed') return;
      const error = agentErrorFor('un-PUBLISH', failure, this.context.endpoint, 'logoff');
      this.events.error(error.kind, error.message);
    }
  }

  destroy(): void {
    this.shutdown('destroyed');
  }

  /** @internal UaOwner: the connection dropped under us (TCP/TLS), as `kind` (connection-reset, unexpected-close, …). */
  lost(reason: string, kind: ErrorKind): void {
    if (this.phase === 'closed' || this.phase === 'logging-off') return;
    const wasOnline = this.phase === 'online';
    this.shutdown(reason);
    if (wasOnline) this.events.disconnected(reason, kind);
  }

  private shutdown(reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.registration?.cancel();
    this.publication?.cancel();
    for (const subscription of this.subscriptions) subscription.abandon();
    this.ua.close(reason);
  }
}

