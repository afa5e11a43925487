/**
 * SIP message model (RFC 3261 § 7). Headers keep their wire order; names are stored in their
 * canonical long form so lookups never care whether the peer used compact forms (§ 7.3.3).
 */

import { detached } from './address.js';

/** A method or header name is an RFC 3261 `token`. */
export const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

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

/**
 * Headers every message must carry (§ 8.1.1, § 8.2.6.2): a bit each, so the codec checks all of
 * them with one comparison of a mask the header list keeps as it fills, instead of one search of
 * the list per name (every datagram is checked).
 */
const REQUIRED_HEADERS = ['Call-ID', 'CSeq', 'From', 'To', 'Via'] as const;
const REQUIRED_BITS: ReadonlyMap<string, number> = new Map(REQUIRED_HEADERS.map((name, i) => [name.toLowerCase(), 1 << i]));
/** The mask of a message that carries every required header. */
export const ALL_REQUIRED = (1 << REQUIRED_HEADERS.length) - 1;

/** The first required header missing from a mask (for the parse error), in REQUIRED_HEADERS order. */
export function missingRequired(mask: number): string | undefined {
  return REQUIRED_HEADERS.find((_, i) => (mask & (1 << i)) === 0);
}

/** What a wire spelling of a header name stands for; computed once per spelling. */
export interface HeaderSpelling {
  /** Canonical name (long form, registered case) or the peer's own spelling for unknown headers. */
  readonly name: string;
  /** Lower-case form that lookups compare. */
  readonly key: string;
  /** Comma-separated values are separate header values (§ 7.3.1). */
  readonly list: boolean;
  /** Its bit among REQUIRED_HEADERS, 0 for the others. */
  readonly required: number;
}

/**
 * Spellings seen so far. Every message repeats the same few names, so parsing and lookups skip
 * the lower-casing and table lookups after the first time; bounded because names come from peers.
 */
const SPELLINGS = new Map<string, HeaderSpelling>();
const MAX_SPELLINGS = 2048;

/**
 * The spelling of a header name read from the wire, or undefined when it is not an RFC 3261
 * token. Known spellings skip the token check: only tokens are ever added.
 */
export function wireSpelling(name: string): HeaderSpelling | undefined {
  return SPELLINGS.get(name) ?? (TOKEN.test(name) ? spellingOf(name) : undefined);
}

export function spellingOf(name: string): HeaderSpelling {
  const known = SPELLINGS.get(name);
  if (known !== undefined) return known;
  const lower = name.toLowerCase();
  const canonical = (lower.length === 1 ? COMPACT_FORMS[lower] : undefined) ?? CANONICAL.get(lower) ?? name;
  const key = canonical.toLowerCase();
  // A name read from the wire is a slice of its message's text: copied, so the cache (and every
  // message that reuses the spelling) does not keep that whole message alive.
  const own = detached(name);
  const spelling: HeaderSpelling = {
    name: canonical === name ? own : canonical,
    key: detached(key),
    list: LIST_HEADERS.has(key),
    required: REQUIRED_BITS.get(key) ?? 0,
  };
  if (SPELLINGS.size < MAX_SPELLINGS) SPELLINGS.set(own, spelling);
  return spelling;
}

/**
 * Spellings by shape (length and first character) for the parser, which looks a name up where it
 * stands in the message text: no slice, no hash of a fresh string, for the names it has seen.
 */
const SPELLINGS_BY_SHAPE = new Map<number, Array<readonly [string, HeaderSpelling]>>();
let shapedSpellings = 0;

/**
 * The spelling of the header name at `text[start, end)`, or undefined when it is not a token.
 * Same answers as wireSpelling on the slice.
 */
export function wireSpellingAt(text: string, start: number, end: number): HeaderSpelling | undefined {
  const shape = ((end - start) << 8) | (text.charCodeAt(start) & 0xff);
  const candidates = SPELLINGS_BY_SHAPE.get(shape);
  if (candidates !== undefined) {
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i]!;
      if (text.startsWith(candidate[0], start)) return candidate[1];
    }
  }
  const name = text.slice(start, end);
  const spelling = wireSpelling(name);
  if (spelling !== undefined && shapedSpellings < MAX_SPELLINGS) {
    shapedSpellings++;
    const entry = [detached(name), spelling] as const;
    if (candidates === undefined) SPELLINGS_BY_SHAPE.set(shape, [entry]);
    else candidates.push(entry);
  }
  return spelling;
}

/**
 * Ordered header list with case-insensitive lookup. Values are stored trimmed and unfolded.
 * One flat array of (spelling, value, end) triples: no object per header. A parsed value is
 * kept as offsets into the message text (value = start) and sliced the first time it is read,
 * since most headers of most messages are never read at all.
 */
export class SipHeaders {
  /**
   * Room for 12 headers from the start (a REGISTER's 200 from Kamailio has 8): grown from empty
   * by push, the list was copied twice on the way, ~0.3 KB of garbage per parsed message (young
   * generation filled per REGISTER on bench/sip-register-path.bench.ts's path: 10.2 → 9.9 KB).
   */
  private readonly entries: Array<HeaderSpelling | string | number> = new Array(36);
  /** Slots of `entries` in use. */
  private used = 0;
  /** REQUIRED_HEADERS present, as bits (ALL_REQUIRED when every one is). */
  requiredSeen = 0;

  /** `source`: the message text that offsets given to addRange refer to. */
  constructor(private readonly source = '') {}

  /** Appends one value (callers split list headers themselves). */
  add(name: string, value: string): this {
    return this.addSpelled(spellingOf(name), value);
  }

  /** Appends one value under a name already resolved. */
  addSpelled(spelling: HeaderSpelling, value: string): this {
    this.put(spelling, value, -1);
    this.requiredSeen |= spelling.required;
    return this;
  }

  /** Appends the value at `source[start, end)` under a name already resolved (the parser's path). */
  addRange(spelling: HeaderSpelling, start: number, end: number): this {
    this.put(spelling, start, end);
    this.requiredSeen |= spelling.required;
    return this;
  }

  private put(spelling: HeaderSpelling, value: string | number, end: number): void {
    const entries = this.entries;
    const at = this.used;
    entries[at] = spelling;
    entries[at + 1] = value;
    entries[at + 2] = end;
    this.used = at + 3;
  }

  private valueAt(i: number): string {
    const value = this.entries[i + 1]!;
    if (typeof value === 'string') return value;
    const text = this.source.slice(value as number, this.entries[i + 2] as number);
    this.entries[i + 1] = text;
    return text;
  }

  private indexOfKey(key: string, from: number): number {
    const entries = this.entries;
    for (let i = from; i < this.used; i += 3) if ((entries[i] as HeaderSpelling).key === key) return i;
    return -1;
  }

  /** First value of a header, or undefined. */
  get(name: string): string | undefined {
    return this.getSpelled(spellingOf(name));
  }

  /** First value of a header whose spelling the caller resolved once (the codec's hot path). */
  getSpelled(spelling: HeaderSpelling): string | undefined {
    const at = this.indexOfKey(spelling.key, 0);
    return at === -1 ? undefined : this.valueAt(at);
  }

  /** Every value of a header, in wire order. */
  getAll(name: string): string[] {
    const key = spellingOf(name).key;
    const values: string[] = [];
    for (let at = this.indexOfKey(key, 0); at !== -1; at = this.indexOfKey(key, at + 3)) values.push(this.valueAt(at));
    return values;
  }

  has(name: string): boolean {
    return this.hasSpelled(spellingOf(name));
  }

  hasSpelled(spelling: HeaderSpelling): boolean {
    return this.indexOfKey(spelling.key, 0) !== -1;
  }

  /** [name, value] pairs in wire order. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (let i = 0; i < this.used; i += 3) yield [(this.entries[i] as HeaderSpelling).name, this.valueAt(i)];
  }

  /** Appends every header as `Name: value` lines (serialising without the iterator's pairs). */
  writeTo(text: string, skipKey?: string): string {
    const entries = this.entries;
    for (let i = 0; i < this.used; i += 3) {
      const spelling = entries[i] as HeaderSpelling;
      if (spelling.key !== skipKey) text += `${spelling.name}: ${this.valueAt(i)}\r\n`;
    }
    return text;
  }
}

/** What the codec reads once so transports and transactions need not parse it again. */
interface ParsedCommon {
  readonly headers: SipHeaders;
  readonly body: Buffer;
  /** CSeq method (upper case): matches a response to its client transaction. */
  readonly cseqMethod: string;
  /** `branch` of the top Via: the transaction key, and on a shared UDP socket the route. */
  readonly branch: string | undefined;
}

export interface SipRequest extends ParsedCommon {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
}

export interface SipResponse extends ParsedCommon {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
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
