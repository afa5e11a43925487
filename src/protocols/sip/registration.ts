/** REGISTER binding of one user (RFC 3261 § 10), refreshed before the granted expiry. */
import { WheelTimer } from '../timer-wheel.js';
import type { VuEvents } from '../types.js';
import { nameAddrParam, nameAddrUri, parseSeconds, shared } from './address.js';
import type { SipResponse } from './message.js';
import { FRONT_END_HEADER } from './pool-config.js';
import { agentErrorFor, longerInterval, refreshDelayMs, refreshWheel } from './outcome.js';
import { countPoolFailover } from './pool-failover.js';
import type { TransactionWaiter } from './transactions.js';
import type { CSeqSource, OutgoingRequest, UserAgent } from './ua.js';

/** URIs compared as the registrar may echo them (case of scheme, host and params may change). */
function sameUri(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}

/**
 * Whether a Contact value names our binding as we sent it: a registrar echoes the Contact it
 * was sent, so `<our URI>` is looked for where it stands, without slicing or lower-casing either
 * URI (UserAgent.contactEndAt).
 */
function isOurContactAsSent(contact: string, ua: UserAgent): boolean {
  const open = contact.indexOf('<');
  if (open === -1) return false;
  const end = ua.contactEndAt(contact, open + 1);
  return end !== -1 && contact.charCodeAt(end) === 0x3e;
}

/** Whether a Contact value names our binding in any spelling the registrar may give it (sameUri). */
function isOurContactRespelt(contact: string, ua: UserAgent): boolean {
  const uri = nameAddrUri(contact);
  return uri !== undefined && sameUri(uri, ua.contactUri());
}

function ourContact(contacts: readonly string[], ua: UserAgent, isOurs: (contact: string, ua: UserAgent) => boolean): string | undefined {
  for (const contact of contacts) if (isOurs(contact, ua)) return contact;
  return undefined;
}

/** Its own refresh timer (a WheelTimer): one object per binding, not a Timeout and a closure more. */
export class Registration extends WheelTimer implements CSeqSource {
  /** Our Call-ID and From tag are made from it (UserAgent.callId/tag), as a subscription's are. */
  private readonly dialog: number;
  private cseq = 0;

  constructor(
    private readonly ua: UserAgent,
    private readonly domain: string,
    private requestedExpires: number,
    private readonly events: VuEvents,
  ) {
    super();
    // § 10.2: one Call-ID for all REGISTERs of a binding, CSeq increasing.
    this.dialog = ua.newTagNumber();
  }

  nextCSeq(): number {
    return ++this.cseq;
  }

  get currentCSeq(): number {
    return this.cseq;
  }

  /** The pool front end that saved the binding, when the registrar names itself (kamailio-pool lab). */
  frontEnd: string | undefined;

  /**
   * Registers (or refreshes); resolves with the final response, success or not. One promise per
   * REGISTER, settled by the transaction's waiter (Registering), where an async function awaiting
   * the transaction's own promise made two and a turn of microtasks more (TransactionWaiter).
   */
  register(): Promise<SipResponse> {
    return new Promise((resolve, reject) => this.ua.requestTo(this.request(this.requestedExpires), new Registering(this, resolve, reject)));
  }

  /** @internal A REGISTER's final response (Registering): a 423's retry, or the binding's refresh. */
  answered(response: SipResponse, call: Registering): boolean {
    const longer = call.retried ? undefined : longerInterval(response, this.requestedExpires);
    if (longer !== undefined) {
      this.requestedExpires = longer;
      call.retried = true;
      this.ua.requestTo(this.request(longer), call);
      return false;
    }
    if (response.status >= 200 && response.status < 300) {
      // A pool lab's front ends name themselves in their replies (pool-config.ts). Shared, not a
      // slice of the reply: that would keep the whole 200's header text for the logon.
      this.frontEnd = shared(response.headers.get(FRONT_END_HEADER)) ?? this.frontEnd;
      countPoolFailover(this.events, 'REGISTER', response);
      this.scheduleRefresh(this.grantedExpires(response));
    }
    return true;
  }

  /** Removes this binding (Expires: 0); resolves with the final response. */
  async unregister(): Promise<SipResponse> {
    this.cancel();
    const response = await this.ua.request(this.request(0));
    countPoolFailover(this.events, 'REGISTER', response);
    return response;
  }

  cancel(): void {
    refreshWheel().cancel(this);
  }

  private request(expires: number): OutgoingRequest {
    return {
      method: 'REGISTER',
      uri: `sip:${this.domain}`,
      to: `<${this.ua.aor}>`,
      fromTag: this.ua.tag(this.dialog),
      callId: this.ua.callId(this.dialog),
      cseq: this,
      contact: true,
      expires,
    };
  }

  /**
   * § 10.2.4: the expiry the registrar granted for our Contact, else the Expires header. The
   * answer lists every binding of the AoR (Kamailio: oldest first, so ours last when the user
   * registered before from another address): each is first compared as we sent it, and only when
   * none matches respelt, which slices and lower-cases — it did so for every other binding.
   */
  private grantedExpires(response: SipResponse): number {
    const contacts = response.headers.getAll('Contact');
    const ours = ourContact(contacts, this.ua, isOurContactAsSent) ?? ourContact(contacts, this.ua, isOurContactRespelt);
    const seconds = ours === undefined ? undefined : parseSeconds(nameAddrParam(ours, 'expires'));
    return seconds ?? parseSeconds(response.headers.get('Expires')) ?? this.requestedExpires;
  }

  private scheduleRefresh(seconds: number): void {
    if (seconds <= 0) this.cancel();
    else refreshWheel().schedule(this, refreshDelayMs(seconds));
  }

  /** @internal The refresh is due (called by the refresh wheel). */
  expired(): void {
    this.register()
      .then((response) => {
        if (response.status >= 300) throw response;
      })
      .catch((failure: unknown) => {
        const error = agentErrorFor('REGISTER refresh', failure, '', 'refresh');
        this.events.error(error.kind, error.message);
      });
  }
}

/**
 * One register() call: hears its transactions' outcome (at most two, after a 423) and settles
 * the call's promise. A throw while the answer is handled rejects the call, as it did in the
 * async function: it must not reach the socket that delivered the answer.
 */
class Registering implements TransactionWaiter {
  /** The 423's one retry was sent. */
  retried = false;

  constructor(
    private readonly registration: Registration,
    private readonly resolve: (response: SipResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  answered(response: SipResponse): void {
    try {
      if (this.registration.answered(response, this)) this.resolve(response);
    } catch (error) {
      this.reject(error);
    }
  }

  failed(error: Error): void {
    this.reject(error);
  }
}
