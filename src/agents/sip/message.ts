/**
 * SIP message model (RFC 3261 § 7). Headers keep their wire order; names are stored in their
 * canonical long form so lookups never care whether the peer used compact forms (§ 7.3.3).
 */

/** Compact header forms (RFC 3261 § 7.3.3 and the IANA registry entries SIMPLE peers use). */
const COMPACT_FORMS: Readonly<Record<string, string>> = {
  a: 'Accept-Contact',
  b: 'Referred-By',
  c: 'Content-Type',
  d: 'Request-Disposition',
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact',
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  n: 'Identity-Info',
  o: 'Event',
  r: 'Refer-To',
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events',
  v: 'Via',
  x: 'Session-Expires',
  y: 'Identity',
};

/** Canonical spelling for the headers this agent writes or reads; others keep the peer's case. */
const CANONICAL: ReadonlyMap<string, string> = new Map(
  [
    ...Object.values(COMPACT_FORMS),
    'Accept',
    'Allow',
    'Authorization',
    'CSeq',
    'Expires',
    'Max-Forwards',
    'Min-Expires',
    'Proxy-Authenticate',
    'Proxy-Authorization',
    'Record-Route',
    'Require',
    'Route',
    'SIP-ETag',
    'SIP-If-Match',
    'Subscription-State',
    'Unsupported',
    'User-Agent',
    'WWW-Authenticate',
  ].map((name) => [name.toLowerCase(), name]),
);

/**
 * Headers whose comma-separated values are separate header values (§ 7.3.1). Auth headers are
 * not in this list: their parameters are comma-separated inside one value.
 */
const LIST_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-contact',
  'allow',
  'allow-events',
  'contact',
  'record-route',
  'reject-contact',
  'require',
  'route',
  'supported',
  'unsupported',
  'via',
]);

/** Canonical header name for a name as written on the wire (compact or any case). */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1) {
    const long = COMPACT_FORMS[lower];
    if (long !== undefined) return long;
  }
  return CANONICAL.get(lower) ?? name;
}

export function isListHeader(canonicalName: string): boolean {
  return LIST_HEADERS.has(canonicalName.toLowerCase());
}

/** Ordered header list with case-insensitive lookup. Values are stored trimmed and unfolded. */
export class SipHeaders {
  /** [canonical name, its lower-case form for lookups, value]: lookups never re-lowercase entries. */
  private readonly entries: Array<[name: string, key: string, value: string]> = [];

  /** Appends one value (callers split list headers themselves). */
  add(name: string, value: string): this {
    const canonical = canonicalHeaderName(name);
    this.entries.push([canonical, canonical.toLowerCase(), value]);
    return this;
  }

  /** First value of a header, or undefined. */
  get(name: string): string | undefined {
    const wanted = canonicalHeaderName(name).toLowerCase();
    for (const entry of this.entries) if (entry[1] === wanted) return entry[2];
    return undefined;
  }

  /** Every value of a header, in wire order. */
  getAll(name: string): string[] {
    const wanted = canonicalHeaderName(name).toLowerCase();
    const values: string[] = [];
    for (const entry of this.entries) if (entry[1] === wanted) values.push(entry[2]);
    return values;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** [name, value] pairs in wire order. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const entry of this.entries) yield [entry[0], entry[2]];
  }
}

export interface SipRequest {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
  readonly headers: SipHeaders;
  readonly body: Buffer;
}

export interface SipResponse {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
  readonly headers: SipHeaders;
  readonly body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

/** A message that could not be parsed. Returned as a value by the codec, never thrown. */
export class SipParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SipParseError';
  }
}

export const EMPTY_BODY: Buffer = Buffer.alloc(0);
