/**
 * One `Event: presence` subscription dialog (RFC 6665/3265, RFC 3856). The dialog can be
 * created by the 2xx or by a NOTIFY that overtakes it (different proxy workers send them;
 * lab-results.md § 4 failure 2), so whichever arrives first fixes the remote tag, route set and
 * remote target. Every NOTIFY is answered 200 by the caller; this class only interprets it.
 */
import { WheelTimer } from '../timer-wheel.js';
import type { PresenceState, VuEvents } from '../types.js';
import { detached, dialogTarget, nameAddrUri, parseParams, parseSeconds, shared, tagOf } from './address.js';
import type { SipRequest, SipResponse } from './message.js';
import { agentErrorFor, longerInterval, refreshDelayMs, refreshWheel } from './outcome.js';
import { parsePidf, type ParsedPresence } from './pidf.js';
import { countPoolFailover } from './pool-failover.js';
import type { CSeqSource, UserAgent } from './ua.js';

/** Terminations after which RFC 6665 § 4.1.3 says a new subscription may be tried at once. */
const RETRY_REASONS = new Set(['deactivated', 'timeout', 'probation']);
/** Re-subscriptions per contact per logon; a server that keeps terminating is reported, not chased. */
const MAX_RESTARTS = 3;

/**
 * The user that owns the subscriptions. One object for all twenty, not closures per
 * subscription: a 100,000-user pool holds two million of them. It also holds what all twenty
 * share (user agent, domain, events), so a subscription does not keep three more fields.
 */
export interface SubscriptionOwner {
  readonly ua: UserAgent;
  readonly domain: string;
  readonly events: VuEvents;
  /**
   * The expiry the user's SUBSCRIBEs ask for; a 423's Min-Expires raises it (RFC 6665 § 4.1.2.1,
   * RFC 3261 § 21.4.17). One per user, not per subscription (8 bytes, twenty subscriptions a
   * user): all of a user's subscriptions go to its one domain's presence service.
   */
  subscribeExpires: number;
  /**
   * A presence the contact had not shown in its last two reports; `initial`: carried by the
   * first NOTIFY of a dialog, i.e. the state the contact already had.
   */
  presenceSeen(contact: string, state: PresenceState, note: string, receivedAt: number, initial: boolean): void;
  /** The first NOTIFY of the subscription arrived (logon waits for all of them). */
  firstNotifyArrived(): void;
  /** The subscription failed before its first NOTIFY. */
  firstNotifyFailed(error: Error): void;
}

/**
 * Bits of Subscription.flags: four booleans, a restart count and the last two presences seen in
 * one field rather than seven (8 bytes each, twenty subscriptions a user). ENDING: un-SUBSCRIBE
 * begun or user gone; ABANDONED: the user was torn down, so what its unfinished requests fail
 * with is not news; GOT_FIRST: the first NOTIFY of the subscription arrived; DIALOG_NOTIFIED: the
 * current dialog has had its first NOTIFY (a restart starts a new dialog). Then three bits each:
 * the restart count, the code (PRESENCE_CODES) of the presence seen last and of the one before.
 */
const ENDING = 1;
const ABANDONED = 2;
const GOT_FIRST = 4;
const DIALOG_NOTIFIED = 8;
const FIELD_MASK = 0b111;
const RESTARTS_SHIFT = 4;
const SEEN_SHIFT = 7;
const PRIOR_SHIFT = 10;
/** A presence as three bits; 0: none seen yet. */
const PRESENCE_CODES: ReadonlyArray<PresenceState | undefined> = [undefined, 'online', 'busy', 'away', 'offline'];

/**
 * What a subscription's un-SUBSCRIBE waits for (its final NOTIFY), only while it waits: a
 * field for it in every subscription would cost two million of them 8 bytes for the rare logoff.
 */
const awaitingFinalNotify = new WeakMap<Subscription, () => void>();

/**
 * Its own refresh timer (a WheelTimer) and its own CSeq counter: a pool holds two million
 * subscriptions, so each keeps numbers rather than objects where it can — its Call-ID and From
 * tag as the number they are made from, no SequenceCounter, no first-NOTIFY promise, its last
 * two presences as fields rather than in a Map of the user's. Measured with
 * bench/sip-memory.bench.ts (heap snapshots at 200 and 800 users, the difference per user): with
 * the user's Map by Call-ID replaced by a list and the publication's fix (publication.ts), a
 * user's agent heap went from 18.3 KB to 8.3 KB; with the flags and the tag below, to 7.0 KB
 * (bench/RESULTS.md, "SIP memory per VU").
 */
export class Subscription extends WheelTimer implements CSeqSource {
  /** The number our Call-ID and From tag are made from (UserAgent.callId/tag); a restart takes a new one. */
  dialog = 0;
  private cseq = 0;
  /**
   * The dialog's remote tag, as a part shared with the notifier's other dialogs and a part of its
   * own: Kamailio's tags are `<32 hex digits of the server>-<8 of the dialog>`, so a subscription
   * keeps the 8 hex digits as a number (a small integer in the field, no string: 32 bytes less
   * each) and any other tail as a string. The head is undefined outside a dialog.
   */
  private remoteTagHead: string | undefined;
  private remoteTagTail: string | number = '';
  /**
   * Undefined when empty (Kamailio's presence server records no route); otherwise shared with
   * every dialog that has the same route set (routeSetOf): no array per dialog either way.
   */
  private routeSet: readonly string[] | undefined;
  private remoteTarget: string | undefined;
  /** ENDING, ABANDONED, GOT_FIRST, DIALOG_NOTIFIED, the restart count and the seen presences' codes, in one small integer. */
  private flags = 0;
  /**
   * The notes of the last two presences reported (their states are in `flags`), so a NOTIFY
   * repeating one is not a change. Two, not one: NOTIFYs of one dialog sent by different
   * Kamailio workers can arrive out of order, and the final NOTIFY then repeats the newer state
   * after the older one was reported.
   */
  private seenNote = '';
  private priorNote = '';

  constructor(
    readonly contact: string,
    private readonly owner: SubscriptionOwner,
  ) {
    super();
    this.newDialog();
  }

  get callId(): string {
    return this.owner.ua.callId(this.dialog);
  }

  /** Our From tag: a NOTIFY belongs to this dialog when its To tag equals it. */
  get localTag(): string {
    return this.owner.ua.tag(this.dialog);
  }

  nextCSeq(): number {
    return ++this.cseq;
  }

  get currentCSeq(): number {
    return this.cseq;
  }

  private get aor(): string {
    return `sip:${this.contact}@${this.owner.domain}`;
  }

  private newDialog(): void {
    this.dialog = this.owner.ua.newTagNumber();
    this.cseq = 0;
    this.remoteTagHead = undefined;
    this.routeSet = undefined;
    this.remoteTarget = undefined;
    this.flags &= ~DIALOG_NOTIFIED;
  }

  private has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  /** Sends the initial SUBSCRIBE; a failure before the first NOTIFY is the owner's firstNotifyFailed. */
  start(): void {
    this.subscribe().then(
      (response) => this.afterResponse(response, true),
      (error: unknown) => this.failed(error),
    );
  }

  /** SUBSCRIBE with the wanted expiry, once more with Min-Expires after a 423. */
  private async subscribe(): Promise<SipResponse> {
    const response = await this.send(this.owner.subscribeExpires);
    const longer = longerInterval(response, this.owner.subscribeExpires);
    if (longer === undefined) return response;
    this.owner.subscribeExpires = longer;
    return this.send(longer);
  }

  private send(expires: number): Promise<SipResponse> {
    const inDialog = this.remoteTagHead !== undefined;
    const target = dialogTarget(this.remoteTarget ?? this.aor, this.routeSet ?? []);
    return this.owner.ua.request({
      method: 'SUBSCRIBE',
      uri: target.uri,
      to: inDialog ? `<${this.aor}>;tag=${this.remoteTagHead}${tagTailText(this.remoteTagTail)}` : `<${this.aor}>`,
      fromTag: this.localTag,
      callId: this.callId,
      cseq: this,
      route: target.route,
      contact: true,
      headers: [
        ['Event', 'presence'],
        ['Accept', 'application/pidf+xml'],
        ['Expires', String(expires)],
      ],
    });
  }

  private afterResponse(response: SipResponse, initial: boolean): void {
    if (response.status >= 300) {
      if (!initial && response.status === 481 && this.restart()) return;
      this.failed(response);
      return;
    }
    countPoolFailover(this.owner.events, 'SUBSCRIBE', response);
    if (this.remoteTagHead === undefined) {
      this.keepRemoteTag(tagOf(response.headers.get('To')));
      // A UAC reverses the Record-Route of the response (§ 12.1.2).
      this.routeSet = routeSetOf(response.headers.getAll('Record-Route').reverse());
      this.remoteTarget = shared(nameAddrUri(response.headers.get('Contact') ?? '')) ?? this.remoteTarget;
    }
    // RFC 6665 § 4.1.2.1 makes Expires mandatory in the 2xx; without it, assume what we asked.
    this.scheduleRefresh(parseSeconds(response.headers.get('Expires')) ?? this.owner.subscribeExpires);
  }

  private failed(failure: unknown): void {
    const error = agentErrorFor(`SUBSCRIBE ${this.contact}`, failure, '', this.has(GOT_FIRST) ? 'refresh' : 'logon');
    if (!this.has(GOT_FIRST)) this.owner.firstNotifyFailed(error);
    else if (!this.has(ENDING)) this.owner.events.error(error.kind, error.message);
  }

  /** Interprets a NOTIFY of this dialog; the caller answers 200. */
  handleNotify(request: SipRequest, receivedAt: number): void {
    if (this.remoteTagHead === undefined) {
      // The NOTIFY overtook the 2xx: it creates the dialog (RFC 6665 § 4.1.2.4).
      this.keepRemoteTag(tagOf(request.headers.get('From')));
      this.routeSet = routeSetOf(request.headers.getAll('Record-Route'));
    }
    const contact = nameAddrUri(request.headers.get('Contact') ?? '');
    if (contact !== undefined && contact !== this.remoteTarget) this.remoteTarget = shared(contact);

    const state = request.headers.get('Subscription-State') ?? '';
    const semi = state.indexOf(';');
    const substate = (semi === -1 ? state : state.slice(0, semi)).trim().toLowerCase();
    const params = parseParams(semi === -1 ? '' : state.slice(semi));

    // RFC 6665 § 4.2.1: the first NOTIFY of a dialog reports the current state, not a change.
    const initial = !this.has(DIALOG_NOTIFIED);
    this.flags |= DIALOG_NOTIFIED;
    if (request.body.length > 0) {
      const presence = parsePidf(request.body.toString('utf8'));
      if (presence !== undefined) this.seen(presence, receivedAt, initial);
    }
    if (!this.has(GOT_FIRST)) {
      this.flags |= GOT_FIRST;
      this.owner.firstNotifyArrived();
    }
    if (substate === 'terminated') {
      awaitingFinalNotify.get(this)?.();
      this.cancel();
      this.remoteTagHead = undefined;
      if (this.has(ENDING)) return;
      const reason = params.get('reason') ?? '';
      if (!RETRY_REASONS.has(reason) || !this.restart()) {
        this.owner.events.error('subscription-terminated', `${this.contact}: ${reason || 'no reason'}`);
      }
      return;
    }
    const seconds = parseSeconds(params.get('expires'));
    if (seconds !== undefined) this.scheduleRefresh(seconds);
  }

  private keepRemoteTag(tag: string | undefined): void {
    if (tag === undefined) return;
    const cut = tag.lastIndexOf('-') + 1;
    this.remoteTagHead = shared(tag.slice(0, cut));
    this.remoteTagTail = tagTail(tag.slice(cut));
  }

  /** Reports a presence unless it repeats one of the last two reported. */
  private seen(presence: ParsedPresence, receivedAt: number, initial: boolean): void {
    const { state, note } = presence;
    const seen = (this.flags >> SEEN_SHIFT) & FIELD_MASK;
    const prior = (this.flags >> PRIOR_SHIFT) & FIELD_MASK;
    if (seen !== 0 && state === PRESENCE_CODES[seen] && note === this.seenNote) return;
    if (prior !== 0 && state === PRESENCE_CODES[prior] && note === this.priorNote) return;
    this.flags = (this.flags & ~(FIELD_MASK << SEEN_SHIFT) & ~(FIELD_MASK << PRIOR_SHIFT)) | (PRESENCE_CODES.indexOf(state) << SEEN_SHIFT) | (seen << PRIOR_SHIFT);
    this.priorNote = this.seenNote;
    // Kept for the whole logon: detach the note from the NOTIFY body it was cut from.
    this.seenNote = detached(note);
    this.owner.presenceSeen(this.contact, state, note, receivedAt, initial);
  }

  /** Starts a fresh dialog for the same contact; false once the restart budget is spent. */
  private restart(): boolean {
    if (this.has(ENDING) || ((this.flags >> RESTARTS_SHIFT) & FIELD_MASK) >= MAX_RESTARTS) return false;
    this.flags += 1 << RESTARTS_SHIFT;
    this.cancel();
    this.newDialog();
    this.subscribe().then(
      (response) => this.afterResponse(response, true),
      (error: unknown) => this.failed(error),
    );
    return true;
  }

  private scheduleRefresh(seconds: number): void {
    if (seconds <= 0 || this.has(ENDING)) this.cancel();
    else refreshWheel().schedule(this, refreshDelayMs(seconds));
  }

  /** @internal The refresh is due (called by the refresh wheel). */
  expired(): void {
    this.subscribe().then(
      (response) => this.afterResponse(response, false),
      (error: unknown) => this.failed(error),
    );
  }

  cancel(): void {
    refreshWheel().cancel(this);
  }

  /**
   * The user is gone (logoff finished, or timed out and destroyed): stop refreshing, and do not
   * report the un-SUBSCRIBE that the teardown cut short — the engine already counted the timeout,
   * and one error per contact would count it twenty times.
   */
  abandon(): void {
    this.flags |= ABANDONED | ENDING;
    this.cancel();
  }

  /**
   * Un-SUBSCRIBEs (Expires: 0) when the dialog exists, then waits briefly for the final NOTIFY
   * (§ 4.2.1.4) so it is answered while the user can still receive it, instead of being
   * retransmitted by the notifier at nobody.
   */
  async stop(finalNotifyWaitMs: number): Promise<void> {
    this.flags |= ENDING;
    this.cancel();
    if (this.remoteTagHead === undefined) return;
    const terminated = new Promise<void>((resolve) => awaitingFinalNotify.set(this, resolve));
    try {
      const response = await this.send(0);
      countPoolFailover(this.owner.events, 'SUBSCRIBE', response);
      if (response.status < 300) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([terminated, new Promise<void>((resolve) => (timer = setTimeout(resolve, finalNotifyWaitMs)))]);
        clearTimeout(timer);
      }
    } catch (failure) {
      // Reported, not thrown: the server ends the dialog at expiry anyway, so logoff goes on.
      if (this.has(ABANDONED)) return;
      const error = agentErrorFor(`un-SUBSCRIBE ${this.contact}`, failure, '', 'logoff');
      this.owner.events.error(error.kind, error.message);
    } finally {
      awaitingFinalNotify.delete(this);
    }
  }
}

/** Eight lowercase hex digits, as Kamailio ends its tags. */
const HEX8 = /^[0-9a-f]{8}$/;

/** A tag's tail as kept: eight hex digits as a 32-bit integer (no heap object), otherwise a detached copy. */
export function tagTail(text: string): string | number {
  return HEX8.test(text) ? Number.parseInt(text, 16) | 0 : detached(text);
}

/** The text a kept tag tail stands for (tagTail's inverse). */
export function tagTailText(tail: string | number): string {
  return typeof tail === 'string' ? tail : (tail >>> 0).toString(16).padStart(8, '0');
}

/** Distinct route sets routeSetOf keeps one copy of; past it each dialog gets its own. */
const SHARED_ROUTE_SETS_LIMIT = 1024;
const sharedRouteSets = new Map<string, readonly string[]>();

/**
 * A dialog's route set, detached from the message; undefined when it has none. One array per
 * distinct route set, shared: through the kamailio-pool lab every subscription has the
 * director's Record-Route, and an array and a string of their own cost two million dialogs
 * ~100 bytes each (bench/RESULTS.md, "SIP pool at 100,000"). Never modified (dialogTarget copies).
 */
function routeSetOf(routes: readonly string[]): readonly string[] | undefined {
  if (routes.length === 0) return undefined;
  const key = routes.join(',');
  const known = sharedRouteSets.get(key);
  if (known !== undefined) return known;
  const routeSet = routes.map((route) => shared(route));
  if (sharedRouteSets.size < SHARED_ROUTE_SETS_LIMIT) sharedRouteSets.set(detached(key), routeSet);
  return routeSet;
}
