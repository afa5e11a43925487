/**
 * The user's own presence as an RFC 3903 event state publication: initial PUBLISH with a PIDF
 * body, modifications and bodiless refreshes conditional on SIP-If-Match, removal with
 * Expires: 0. Operations run one at a time so a refresh never races a modification for the ETag.
 */
import { WheelTimer } from '../timer-wheel.js';
import type { PresenceState, VuEvents } from '../types.js';
import { detached, parseSeconds } from './address.js';
import type { SipResponse } from './message.js';
import { agentErrorFor, longerInterval, refreshDelayMs, refreshWheel } from './outcome.js';
import { buildPidf, PIDF_CONTENT_TYPE } from './pidf.js';
import { countPoolFailover } from './pool-failover.js';
import type { CSeqSource, UserAgent } from './ua.js';

const NOTHING = (): void => undefined;

/** Its own refresh timer (a WheelTimer), like Registration. */
export class Publication extends WheelTimer implements CSeqSource {
  /** Our Call-ID and From tag are made from it (UserAgent.callId/tag), as a subscription's are. */
  private readonly dialog: number;
  private cseq = 0;
  private etag: string | undefined;
  /** What was last published (two fields, no object per user): a refresh the server no longer knows (412) publishes it afresh. */
  private publishedState: PresenceState | undefined;
  private publishedNote = '';
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ua: UserAgent,
    private requestedExpires: number,
    private readonly events: VuEvents,
  ) {
    super();
    this.dialog = ua.newTagNumber();
  }

  nextCSeq(): number {
    return ++this.cseq;
  }

  get currentCSeq(): number {
    return this.cseq;
  }

  /** Publishes a new state; resolves with the final response. */
  publish(state: PresenceState, note: string): Promise<SipResponse> {
    this.publishedState = state;
    this.publishedNote = note;
    return this.serially(async () => {
      const body = buildPidf(this.ua.aor, state, note);
      let response = await this.send(this.requestedExpires, body);
      const longer = longerInterval(response, this.requestedExpires);
      if (longer !== undefined) {
        this.requestedExpires = longer;
        response = await this.send(longer, body);
      }
      if (response.status === 412 && this.etag !== undefined) {
        // § 6: the server lost our entity; start a new publication.
        this.etag = undefined;
        response = await this.send(this.requestedExpires, body);
      }
      this.afterResponse(response);
      return response;
    });
  }

  /**
   * Removes the published state (Expires: 0); resolves with the final response, or undefined when
   * there was nothing to remove: no publication, or a 412 — RFC 3903 § 6 step 4, the compositor
   * has no state with our entity-tag (a presence server restarted since lost it), which is what a
   * removal wants, not a failure.
   */
  unpublish(): Promise<SipResponse | undefined> {
    this.cancel();
    return this.serially(async () => {
      if (this.etag === undefined) return undefined;
      const response = await this.send(0, undefined);
      this.etag = undefined;
      this.publishedState = undefined;
      this.publishedNote = '';
      countPoolFailover(this.events, 'PUBLISH', response);
      return response.status === 412 ? undefined : response;
    });
  }

  cancel(): void {
    refreshWheel().cancel(this);
  }

  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation, operation);
    // Settled with nothing: `run.catch()` would settle with the last response and keep it (its
    // header list, its sliced values and the whole ~400-byte message text) for the rest of the
    // logon: the one SipHeaders per idle user in a heap snapshot of bench/sip-memory.bench.ts.
    this.queue = run.then(NOTHING, NOTHING);
    return run;
  }

  private send(expires: number, body: string | undefined): Promise<SipResponse> {
    const headers: Array<[string, string]> = [
      ['Event', 'presence'],
      ['Expires', String(expires)],
    ];
    if (this.etag !== undefined) headers.push(['SIP-If-Match', this.etag]);
    return this.ua.request({
      method: 'PUBLISH',
      uri: this.ua.aor,
      to: `<${this.ua.aor}>`,
      fromTag: this.ua.tag(this.dialog),
      callId: this.ua.callId(this.dialog),
      cseq: this,
      headers,
      contentType: body === undefined ? undefined : PIDF_CONTENT_TYPE,
      body,
    });
  }

  private afterResponse(response: SipResponse): void {
    if (response.status < 200 || response.status >= 300) return;
    countPoolFailover(this.events, 'PUBLISH', response);
    this.etag = detached(response.headers.get('SIP-ETag')) ?? this.etag;
    const seconds = parseSeconds(response.headers.get('Expires')) ?? this.requestedExpires;
    if (seconds <= 0 || this.etag === undefined) this.cancel();
    else refreshWheel().schedule(this, refreshDelayMs(seconds));
  }

  /** @internal The refresh is due (called by the refresh wheel): a bodiless PUBLISH. */
  expired(): void {
    this.serially(async () => {
      let response = await this.send(this.requestedExpires, undefined);
      if (response.status === 412 && this.publishedState !== undefined) {
        // RFC 3903 § 6 step 4: the compositor no longer holds our entity-tag (it restarted, or
        // expired the state): publish the last state afresh (§ 4.2) rather than let it lapse.
        this.etag = undefined;
        response = await this.send(this.requestedExpires, buildPidf(this.ua.aor, this.publishedState, this.publishedNote));
      }
      this.afterResponse(response);
      if (response.status >= 300) throw response;
    }).catch((failure: unknown) => {
      const error = agentErrorFor('PUBLISH refresh', failure, '', 'refresh');
      this.events.error(error.kind, error.message);
    });
  }
}
