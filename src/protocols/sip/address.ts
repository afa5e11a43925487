/**
 * Small parsers for the structured header values the UA needs: name-addr (From, To, Contact,
 * Route), Via, and generic `;name=value` parameters (RFC 3261 § 20, § 25.1).
 */

export interface NameAddr {
  /** The URI without angle brackets, e.g. `sip:u1@example.test;transport=tcp`. */
  readonly uri: string;
  /** Header parameters (after the URI), lower-case names, e.g. tag, expires. */
  readonly params: ReadonlyMap<string, string>;
}

/** Parses `;a=b;c` into a map with lower-cased names (valueless parameters map to ''). */
export function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of text.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq === -1) params.set(trimmed.toLowerCase(), '');
    else params.set(trimmed.slice(0, eq).trim().toLowerCase(), unquote(trimmed.slice(eq + 1).trim()));
  }
  return params;
}

export function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return value;
}

/**
 * Parses a name-addr or addr-spec. Without angle brackets every `;param` belongs to the header,
 * not the URI (§ 20.10), which is why the two forms are handled apart.
 */
export function parseNameAddr(value: string): NameAddr | undefined {
  const open = value.indexOf('<');
  if (open !== -1) {
    const close = value.indexOf('>', open);
    if (close === -1) return undefined;
    return { uri: value.slice(open + 1, close).trim(), params: parseParams(value.slice(close + 1)) };
  }
  const trimmed = value.trim();
  if (trimmed === '' || trimmed === '*') return undefined;
  const semi = trimmed.indexOf(';');
  if (semi === -1) return { uri: trimmed, params: new Map() };
  return { uri: trimmed.slice(0, semi), params: parseParams(trimmed.slice(semi)) };
}

/** The URI of a name-addr or addr-spec (as parseNameAddr reads it), without its parameters' map. */
export function nameAddrUri(value: string): string | undefined {
  const open = value.indexOf('<');
  if (open !== -1) {
    const close = value.indexOf('>', open);
    return close === -1 ? undefined : value.slice(open + 1, close).trim();
  }
  const trimmed = value.trim();
  if (trimmed === '' || trimmed === '*') return undefined;
  const semi = trimmed.indexOf(';');
  return semi === -1 ? trimmed : trimmed.slice(0, semi);
}

/** One header parameter of a name-addr or addr-spec (`wanted` in lower case), as parseNameAddr reads it. */
export function nameAddrParam(value: string, wanted: string): string | undefined {
  const open = value.indexOf('<');
  if (open === -1) return paramValue(value, wanted);
  const close = value.indexOf('>', open);
  return close === -1 ? undefined : paramValue(value, wanted, close + 1);
}

/** The user part of a sip:/sips: URI (`sip:alice@host` → `alice`), or undefined. */
export function uriUser(uri: string): string | undefined {
  const colon = uri.indexOf(':');
  const at = uri.indexOf('@');
  if (colon === -1 || at === -1 || at < colon) return undefined;
  const user = uri.slice(colon + 1, at);
  const password = user.indexOf(':');
  return decodeURIComponentSafe(password === -1 ? user : user.slice(0, password));
}

function decodeURIComponentSafe(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The `tag` parameter of a From/To value. */
export function tagOf(value: string | undefined): string | undefined {
  return value === undefined ? undefined : nameAddrParam(value, 'tag');
}

/** The `branch` parameter of a Via value. */
export function viaBranch(via: string | undefined): string | undefined {
  return via === undefined ? undefined : paramValue(via, 'branch');
}

/**
 * One `;name=value` parameter of a header value (`wanted` in lower case), read the way
 * parseParams reads them, without building the whole map: every response is routed by this.
 */
export function paramValue(text: string, wanted: string, from = 0): string | undefined {
  for (let semi = text.indexOf(';', from); semi !== -1; ) {
    const next = text.indexOf(';', semi + 1);
    const end = next === -1 ? text.length : next;
    const eq = text.indexOf('=', semi + 1);
    const nameEnd = eq === -1 || eq > end ? end : eq;
    if (nameIs(text, semi + 1, nameEnd, wanted)) return nameEnd === end ? '' : unquote(text.slice(nameEnd + 1, end).trim());
    semi = next;
  }
  return undefined;
}

/** Whether text[start, end), without surrounding blanks, is `wanted` (lower case) in any case. */
function nameIs(text: string, start: number, end: number, wanted: string): boolean {
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end--;
  if (end - start !== wanted.length) return false;
  for (let i = 0; i < wanted.length; i++) {
    // A-Z fold to lower case; other characters must match exactly.
    const code = text.charCodeAt(start + i);
    if ((code >= 0x41 && code <= 0x5a ? code | 0x20 : code) !== wanted.charCodeAt(i)) return false;
  }
  return true;
}

/** A URI is loose-routing when it carries `;lr` (RFC 3261 § 16.12.1.1). */
export function isLooseRoute(uri: string): boolean {
  return /;lr(?:[;=>]|$)/i.test(uri);
}

/**
 * Request-URI and Route headers of an in-dialog request (§ 12.2.1.1): loose routing keeps the
 * remote target as R-URI; a strict first hop takes its place and the target goes last.
 */
export function dialogTarget(remoteTarget: string, routeSet: readonly string[]): { uri: string; route: string[] } {
  if (routeSet.length === 0) return { uri: remoteTarget, route: [] };
  const first = parseNameAddr(routeSet[0]!)?.uri ?? '';
  if (isLooseRoute(first)) return { uri: remoteTarget, route: [...routeSet] };
  return { uri: first, route: [...routeSet.slice(1), `<${remoteTarget}>`] };
}

/** Seconds from a header value (Expires, or the expires param), undefined unless a whole number. */
export function parseSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,10}\s*$/.test(value)) return undefined;
  return Number(value);
}

/**
 * A copy of `text` that does not keep the whole message alive. Header values are V8 sliced
 * strings of the parsed message text, so a dialog that stores its remote tag or target would
 * otherwise retain a ~1 KB NOTIFY per subscription: 20 per user, 2 GB in a 100k pool.
 */
export function detached(text: string): string;
export function detached(text: string | undefined): string | undefined;
export function detached(text: string | undefined): string | undefined {
  return text === undefined || text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8');
}

/** Distinct values `shared` keeps one copy of; past it each caller gets a copy of its own. */
const SHARED_LIMIT = 1024;
const sharedValues = new Map<string, string>();

/**
 * One detached copy per process of a value many users or dialogs repeat: every subscription's
 * remote target is the presence server's own Contact, so a pool's two million dialogs keep one
 * string instead of two million (56 bytes each). Bounded: past the limit, `detached`.
 */
export function shared(text: string): string;
export function shared(text: string | undefined): string | undefined;
export function shared(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const known = sharedValues.get(text);
  if (known !== undefined) return known;
  const copy = detached(text);
  if (sharedValues.size < SHARED_LIMIT) sharedValues.set(copy, copy);
  return copy;
}
