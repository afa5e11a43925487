/**
 * One user's SIP user-agent core: builds requests (Via, tags, CSeq, Route, Contact), runs them
 * as client transactions, answers Digest challenges (401 and 407, RFC 3261 § 22), and turns
 * incoming requests into responses through the handler the virtual user installs.
 */
import type { VuEvents } from '../types.js';
import type { ErrorKind } from '../errors.js';
import { detached } from './address.js';
import { BRANCH_COOKIE, type SipChannel, type SipReceiver } from './channel.js';
import { buildResponse } from './responses.js';
import { DigestSession, parseDigestChallenge, DigestChallengeError, type CredentialHeader } from './digest.js';
import { SipParseError, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import {
  ClientTransactions,
  ServerTransactionCache,
  SipTransportError,
  type TransactionSender,
  type TransactionTimers,
  type TransactionWaiter,
} from './transactions.js';

export interface UaConfig {
  /** Population index; encoded in branches so a shared UDP socket can route responses. */
  readonly index: number;
  readonly user: string;
  readonly password?: string;
  readonly domain: string;
  readonly timers: TransactionTimers;
  /** Unique per agent so branches and Call-IDs never repeat across workers or runs. */
  readonly instanceTag: string;
  /** The agent's shared cache of answers to incoming requests (UDP); one of its own otherwise. */
  readonly serverCache?: ServerTransactionCache<ResponseSpec>;
}

/**
 * CSeq numbers of one dialog or registration (§ 8.1.1.5: increase by one per request). An
 * interface so that a subscription can be its own counter (one object fewer per dialog).
 */
export interface CSeqSource {
  nextCSeq(): number;
  /** The number of the last request sent (an ACK repeats its INVITE's, § 13.2.2.4). */
  readonly currentCSeq: number;
}

export class SequenceCounter implements CSeqSource {
  constructor(private value = 0) {}
  nextCSeq(): number {
    return ++this.value;
  }
  get currentCSeq(): number {
    return this.value;
  }
}

export interface OutgoingRequest {
  readonly method: string;
  readonly uri: string;
  /** Whole To header value (with the remote tag inside a dialog). */
  readonly to: string;
  readonly fromTag: string;
  readonly callId: string;
  readonly cseq: CSeqSource;
  /** Route set of the dialog (§ 12.2.1.1), already in sending order. */
  readonly route?: readonly string[];
  /** Adds this user's Contact (REGISTER, SUBSCRIBE). */
  readonly contact?: boolean;
  /** Adds `Expires:` with this value (REGISTER): a number, where a header pair cost two arrays and a string a request. */
  readonly expires?: number;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly contentType?: string;
  readonly body?: string;
}

export interface ResponseSpec {
  readonly status: number;
  readonly reason: string;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** With `contentType`: e.g. the SDP of a 200 to INVITE. */
  readonly body?: string;
  readonly contentType?: string;
}

/** What the virtual user does with an incoming request; runs before the response is sent. */
/**
 * Who a user agent serves: answers the requests it receives and hears of its channel's loss. An
 * object with methods rather than two callbacks: one agent lives per user, and two closures with
 * their context cost ~150 bytes of heap a user (a SIP worker's heap snapshot).
 */
export interface UaOwner {
  answer(request: SipRequest, receivedAt: number): ResponseSpec;
  lost(reason: string, kind: ErrorKind): void;
}

/** Challenges accepted before giving up: one per header kind plus one stale-nonce refresh. */
const MAX_AUTH_ROUNDS = 3;
const CREDENTIAL_HEADERS = ['Authorization', 'Proxy-Authorization'] as const;
/** REGISTER keeps its credentials apart from other requests (a registrar and a proxy may challenge differently). */
type DigestScope = 'register' | 'request';
const digestSlot = (scope: DigestScope, header: CredentialHeader): number => (scope === 'register' ? 0 : 2) + (header === 'Authorization' ? 0 : 1);
/** Until an owner is set: every request refused as not implemented, a loss heard by nobody. */
const NO_OWNER: UaOwner = { answer: () => ({ status: 501, reason: 'Not Implemented' }), lost: () => undefined };

/**
 * Also the transport its client transactions send through (TransactionSender): one object per
 * user rather than an adapter of closures, since a pool run creates users by the hundred thousand.
 */
export class UserAgent implements SipReceiver, TransactionSender {
  readonly aor: string;
  private channel: SipChannel | undefined;
  private transactions: ClientTransactions | undefined;
  /** The agent's, or one made by the first incoming request on UDP when the agent has none. */
  private serverCache: ServerTransactionCache<ResponseSpec> | undefined;
  private ownsServerCache = false;
  /**
   * Digest sessions by scope and header (digestSlot); made by the first challenge. Four slots in
   * an array rather than a Map keyed by strings: through the pool's director every user keeps
   * two sessions for the whole logon, and the Map and its keys cost ~200 bytes more a user.
   */
  private digest: Array<DigestSession | undefined> | undefined;
  /** The attached channel's local address: the Via up to its branch, sent-by, the Contact's transport. */
  private local: LocalAddress | undefined;
  private branchCounter = 0;
  private strayNoted = false;
  private owner: UaOwner = NO_OWNER;

  constructor(
    private readonly config: UaConfig,
    private readonly events: VuEvents,
  ) {
    this.aor = `sip:${config.user}@${config.domain}`;
    this.serverCache = config.serverCache;
  }

  serve(owner: UaOwner): void {
    this.owner = owner;
  }

  attach(channel: SipChannel): void {
    this.channel = channel;
    // Over UDP the same for every user of one of the agent's few sockets: one copy, not one per
    // user. A TCP/TLS user's is its own (its connection's port), so not kept.
    const local = channel.reliable ? localAddressOf(channel) : udpLocalAddress(channel);
    this.local = local;
    this.transactions = new ClientTransactions(this, this.config.timers);
  }

  /** TransactionSender: whether the attached transport is reliable (no Timer E). */
  get reliable(): boolean {
    return this.channel?.reliable ?? false;
  }

  /** TransactionSender: a request was sent again. */
  retransmitted(): void {
    this.events.metric('retransmissions', 1);
  }

  /** The local address of this user's socket (SDP connection address). */
  get localHost(): string {
    return this.requireChannel().localHost;
  }

  /** The URI peers reach this user at: the socket's own address (no DNS, no NAT on loopback). */
  contactUri(): string {
    this.requireChannel();
    return `sip:${this.config.user}@${this.local!.sentBy}${this.local!.transportParam}`;
  }

  /**
   * Where our Contact URI ends if `text` holds it from `at` on, else -1. Compared part by part:
   * the URI is a concatenation, and comparing it whole flattens it, a copy per user (the
   * registration's check of its binding; with the check itself, −0.1 µs a REGISTER in
   * bench/sip-register-path.bench.ts).
   */
  contactEndAt(text: string, at: number): number {
    this.requireChannel();
    const local = this.local!;
    const user = this.config.user;
    let end = at + 4;
    if (!text.startsWith('sip:', at) || !text.startsWith(user, end)) return -1;
    end += user.length;
    if (text.charCodeAt(end) !== 0x40 || !text.startsWith(local.sentBy, end + 1)) return -1;
    end += 1 + local.sentBy.length;
    return text.startsWith(local.transportParam, end) ? end + local.transportParam.length : -1;
  }

  newTag(): string {
    return this.tag(this.newTagNumber());
  }

  newCallId(): string {
    return this.callId(this.newTagNumber());
  }

  /**
   * Tags and Call-IDs are this agent's instance tag and a number unique within the user: a
   * dialog that keeps only the number (a subscription: two million in a pool) rebuilds both.
   */
  newTagNumber(): number {
    return ++this.branchCounter;
  }

  tag(tagNumber: number): string {
    return `${this.config.instanceTag}${tagNumber.toString(36)}`;
  }

  callId(tagNumber: number): string {
    return `${this.config.index.toString(36)}.${this.tag(tagNumber)}@imload`;
  }

  /** The number a tag of ours was made from (`tag(n)`); undefined for anyone else's tag. */
  tagNumber(tag: string | undefined): number | undefined {
    const prefix = this.config.instanceTag;
    if (tag === undefined || tag.length <= prefix.length || !tag.startsWith(prefix)) return undefined;
    const digits = tag.slice(prefix.length);
    const n = Number.parseInt(digits, 36);
    return Number.isSafeInteger(n) && n.toString(36) === digits ? n : undefined;
  }

  /**
   * Sends a request and resolves with its final response, answering up to MAX_AUTH_ROUNDS
   * Digest challenges. A challenge that repeats the nonce we just answered, without `stale`,
   * means the password was refused: that response is returned for the caller to judge.
   */
  request(spec: OutgoingRequest): Promise<SipResponse> {
    return new Promise((resolve, reject) => this.requestTo(spec, { answered: resolve, failed: reject }));
  }

  /** As request(), its outcome told to `waiter` (the REGISTER path: no promise of its own). */
  requestTo(spec: OutgoingRequest, waiter: TransactionWaiter): void {
    const scope: DigestScope = spec.method === 'REGISTER' ? 'register' : 'request';
    if (this.config.password !== undefined) {
      this.requestAnsweringChallenges(spec, scope).then(
        (response) => waiter.answered(response),
        (error: Error) => waiter.failed(error),
      );
      return;
    }
    // Without a password there is nothing to answer a challenge with: the transaction's own
    // outcome, told straight to the waiter.
    try {
      this.sendOnce(spec, scope, waiter);
    } catch (error) {
      waiter.failed(error as Error);
    }
  }

  private async requestAnsweringChallenges(spec: OutgoingRequest, scope: DigestScope): Promise<SipResponse> {
    let response: SipResponse | undefined;
    for (let round = 0; round <= MAX_AUTH_ROUNDS; round++) {
      const used = new Map<string, string | undefined>();
      for (const header of CREDENTIAL_HEADERS) used.set(header, this.digest?.[digestSlot(scope, header)]?.nonce);
      response = await new Promise<SipResponse>((resolve, reject) => this.sendOnce(spec, scope, { answered: resolve, failed: reject }));
      if (response.status !== 401 && response.status !== 407) return response;
      if (!this.acceptChallenge(response, scope, used)) return response;
    }
    return response!;
  }

  private acceptChallenge(response: SipResponse, scope: DigestScope, used: Map<string, string | undefined>): boolean {
    const header: CredentialHeader = response.status === 401 ? 'Authorization' : 'Proxy-Authorization';
    const challengeHeader = response.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    for (const value of response.headers.getAll(challengeHeader)) {
      const challenge = parseDigestChallenge(value);
      if (challenge instanceof DigestChallengeError) continue;
      if (used.get(header) === challenge.nonce && !challenge.stale) return false;
      const slot = digestSlot(scope, header);
      this.digest ??= [undefined, undefined, undefined, undefined];
      let session = this.digest[slot];
      if (session === undefined) {
        session = new DigestSession(this.config.user, this.config.password!);
        this.digest[slot] = session;
      }
      session.accept(challenge);
      return true;
    }
    return false;
  }

  private sendOnce(spec: OutgoingRequest, scope: DigestScope, waiter: TransactionWaiter): void {
    const branch = this.newBranch();
    let head = this.requestHead(spec, branch, spec.cseq.nextCSeq(), spec.method);
    const body = spec.body;
    if (this.digest !== undefined) {
      const bodyBytes = body === undefined ? undefined : Buffer.from(body, 'utf8');
      for (const header of CREDENTIAL_HEADERS) {
        const credentials = this.digest[digestSlot(scope, header)]?.credentialsFor(spec.method, spec.uri, bodyBytes);
        if (credentials !== undefined) head += `${header}: ${credentials}\r\n`;
      }
    }
    if (spec.contentType !== undefined) head += `Content-Type: ${spec.contentType}\r\n`;
    const data = finishRequest(head, body);
    if (spec.method !== 'INVITE') {
      this.transactions!.begin(branch, spec.method, data, waiter);
      return;
    }
    // § 17.1.1.3: the INVITE client transaction itself ACKs a non-2xx final, on the same branch.
    this.transactions!.begin(branch, spec.method, data, {
      answered: (response) => {
        if (response.status >= 300) {
          try {
            const ack = this.requestHead({ ...spec, to: response.headers.get('To') ?? spec.to }, branch, spec.cseq.currentCSeq, 'ACK');
            this.send(finishRequest(ack, undefined));
          } catch (error) {
            waiter.failed(error as Error);
            return;
          }
        }
        waiter.answered(response);
      },
      failed: (error) => waiter.failed(error),
    });
  }

  /**
   * ACK for a 2xx to INVITE (§ 13.2.2.4): a request of the dialog on a new branch, outside any
   * transaction, with the INVITE's CSeq number.
   */
  ackInvite(spec: Omit<OutgoingRequest, 'method'>): void {
    this.send(finishRequest(this.requestHead({ ...spec, contact: false }, this.newBranch(), spec.cseq.currentCSeq, 'ACK'), undefined));
  }

  private newBranch(): string {
    return `${BRANCH_COOKIE}${this.config.index.toString(36)}.${this.newTag()}`;
  }

  /**
   * Request line and the headers every request carries, as text: requests are written straight
   * to the wire format rather than through a header list (the hot path of every transaction).
   */
  private requestHead(spec: Omit<OutgoingRequest, 'method'>, branch: string, cseq: number, method: string): string {
    this.requireChannel();
    let head =
      `${method} ${spec.uri} SIP/2.0\r\n${this.local!.viaPrefix}${branch};rport\r\nMax-Forwards: 70\r\n` +
      `From: <${this.aor}>;tag=${spec.fromTag}\r\nTo: ${spec.to}\r\nCall-ID: ${spec.callId}\r\nCSeq: ${cseq} ${method}\r\n`;
    if (spec.route !== undefined) for (const route of spec.route) head += `Route: ${route}\r\n`;
    // The Contact URI written where it goes, not kept per user (requests carry it, an INVITE's answer builds it).
    if (spec.contact) head += `Contact: <sip:${this.config.user}@${this.local!.sentBy}${this.local!.transportParam}>\r\n`;
    if (spec.expires !== undefined) head += `Expires: ${spec.expires}\r\n`;
    if (spec.headers !== undefined) for (const [name, value] of spec.headers) head += `${name}: ${value}\r\n`;
    return head;
  }

  receive(message: SipMessage | SipParseError, wireBytes: number): void {
    this.events.bytes(wireBytes, 0);
    // A closed stream is only half-closed (our FIN sent): the server may still send a NOTIFY or
    // a MESSAGE it routed before our un-REGISTER. Nothing is left to answer it with.
    if (this.channel === undefined) return;
    if (message instanceof SipParseError) {
      this.events.error('protocol-error', message.message);
      return;
    }
    if (message.kind === 'response') {
      const matched = this.transactions?.receive(message.branch, message.cseqMethod, message);
      // Unmatched finals are retransmissions that crossed our own retransmission (§ 17.1.2.2,
      // absorbed in the Completed state): normal on UDP, so a note rather than an error.
      if (matched !== true && message.status >= 200 && !this.strayNoted) {
        this.strayNoted = true;
        this.events.note('sip-stray-responses', 'final responses arrived for finished transactions (UDP retransmission crossings)');
      }
      return;
    }
    this.receiveRequest(message);
  }

  private receiveRequest(request: SipRequest): void {
    if (request.method === 'ACK') return;
    const now = Date.now();
    // The cache may be the agent's: the user's index keeps one user's answer from ever serving
    // another's request, even from a notifier that reuses branches.
    const key = `${this.config.index}|${request.branch ?? request.headers.get('Call-ID')}|${request.method}|${request.headers.get('CSeq')}`;
    const cached = this.serverCache?.lookup(key, now);
    if (cached !== undefined) {
      // A retransmission carries the headers of the request first answered: the same bytes again.
      this.send(this.responseTo(request, cached));
      return;
    }
    const receivedAt = performance.timeOrigin + performance.now();
    const spec = this.owner.answer(request, receivedAt);
    this.send(this.responseTo(request, spec));
    if (!this.requireChannel().reliable) {
      if (this.serverCache === undefined) {
        this.serverCache = new ServerTransactionCache(64 * this.config.timers.t1Ms);
        this.ownsServerCache = true;
      }
      // The key's parts, and a spec's header values, may be slices of the whole request text:
      // kept as they are, the cache would hold every request it answered for 64·T1 (a NOTIFY
      // head is ~500 bytes).
      this.serverCache.remember(detached(key), keptSpec(spec), now);
    }
  }

  private responseTo(request: SipRequest, spec: ResponseSpec): Buffer {
    return buildResponse(request, spec.status, spec.reason, `${this.config.instanceTag}u`, spec.headers, spec.body, spec.contentType);
  }

  /** TransactionSender: writes bytes to the attached transport, counting them. */
  send(data: Buffer): boolean {
    const channel = this.channel;
    if (channel === undefined || !channel.send(data)) return false;
    this.events.bytes(0, data.length);
    return true;
  }

  closed(reason: string, kind: ErrorKind, code?: string): void {
    this.transactions?.abortAll(reason, kind, code);
    this.owner.lost(reason, kind);
  }

  /** Detaches from the transport and fails whatever is still pending. */
  close(reason: string): void {
    this.transactions?.abortAll(reason);
    this.channel?.close();
    this.channel = undefined;
    if (this.ownsServerCache) this.serverCache?.clear();
  }

  private requireChannel(): SipChannel {
    if (this.channel === undefined) throw new SipTransportError('not connected');
    return this.channel;
  }
}

const hostForUri = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** A channel's local address as requests carry it: `host:port`, and the Via up to its branch. */
interface LocalAddress {
  readonly host: string;
  readonly port: number;
  readonly sentBy: string;
  /** `Via: SIP/2.0/<transport> <sent-by>;branch=` */
  readonly viaPrefix: string;
  /** `;transport=<transport>` of the Contact. */
  readonly transportParam: string;
}

function localAddressOf(channel: SipChannel): LocalAddress {
  const sentBy = `${hostForUri(channel.localHost)}:${channel.localPort}`;
  return {
    host: channel.localHost,
    port: channel.localPort,
    sentBy,
    viaPrefix: `Via: SIP/2.0/${channel.transport} ${sentBy};branch=`,
    transportParam: `;transport=${channel.transport.toLowerCase()}`,
  };
}

/**
 * The local addresses of the UDP sockets users attach to, the last one per port: an agent's users
 * share its few sockets, so an attach finds the strings built, where building and interning them
 * (shared()) hashed a fresh ~45-character string per user (−0.2 µs per REGISTER of a new user,
 * bench/sip-register-path.bench.ts).
 */
const udpLocalAddresses = new Map<number, LocalAddress>();

function udpLocalAddress(channel: SipChannel): LocalAddress {
  const known = udpLocalAddresses.get(channel.localPort);
  if (known !== undefined && known.host === channel.localHost) return known;
  const local = localAddressOf(channel);
  udpLocalAddresses.set(channel.localPort, local);
  return local;
}

/** A spec to keep for 64·T1: its extra header values copied out of the request they may be cut from. */
function keptSpec(spec: ResponseSpec): ResponseSpec {
  if (spec.headers === undefined) return spec;
  return { ...spec, headers: spec.headers.map(([name, value]) => [name, detached(value)] as const) };
}

/** Ends a request head with the fixed trailer and Content-Length, and appends the body. */
function finishRequest(head: string, body: string | undefined): Buffer {
  if (body === undefined || body.length === 0) return Buffer.from(`${head}User-Agent: imload\r\nContent-Length: 0\r\n\r\n`, 'utf8');
  return Buffer.from(`${head}User-Agent: imload\r\nContent-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`, 'utf8');
}
