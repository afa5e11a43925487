/**
 * RFC 3261 § 7 message codec. `parseSipMessage` returns a `SipParseError` for anything it
 * cannot make sense of, so one malformed datagram or stream message never escapes as an
 * exception into a socket handler.
 */
import { viaBranch } from './address.js';
import {
  ALL_REQUIRED,
  EMPTY_BODY,
  missingRequired,
  SipHeaders,
  SipParseError,
  spellingOf,
  TOKEN,
  wireSpellingAt,
  type HeaderSpelling,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './message.js';

const SIP_VERSION = 'SIP/2.0';
const STATUS_PREFIX = `${SIP_VERSION} `;
/** Resolved once: every datagram is read for these. */
const CSEQ = spellingOf('CSeq');
const VIA = spellingOf('Via');
const CONTENT_LENGTH = spellingOf('Content-Length');

/**
 * Splits a list header value at top-level commas: commas inside quoted strings or `<...>`
 * belong to the value (§ 7.3.1, § 20.10).
 */
export function splitHeaderList(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let inQuotes = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    if (inQuotes) {
      if (ch === 0x5c) i++; // backslash escapes the next character
      else if (ch === 0x22) inQuotes = false;
    } else if (ch === 0x22) inQuotes = true;
    else if (ch === 0x3c) inAngle = true;
    else if (ch === 0x3e) inAngle = false;
    else if (ch === 0x2c && !inAngle) {
      const part = value.slice(start, i).trim();
      if (part !== '') parts.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last !== '') parts.push(last);
  return parts;
}

const LF_CRLF = Buffer.from('\n\r\n', 'latin1');
const LF_LF = Buffer.from('\n\n', 'latin1');

/**
 * Index of the blank line ending the header block (CRLF CRLF, or bare LF LF), and its length.
 * Two searches of the buffer for the two endings rather than a look at every line's end: one
 * native call per line was the costliest part of finding it (every datagram comes through here).
 */
export function findHeaderEnd(data: Buffer, from = 0): { index: number; length: number } | undefined {
  const crlf = data.indexOf(LF_CRLF, from);
  // The first blank line ends the headers: a bare LF LF counts only before the first CRLF one,
  // so the second search stops there (a stream's buffer may hold many messages after it).
  const lf = (crlf === -1 ? data : data.subarray(0, crlf + 1)).indexOf(LF_LF, from);
  if (lf !== -1) return { index: lf + 1, length: 1 };
  return crlf === -1 ? undefined : { index: crlf + 1, length: 2 };
}

/** Number of CR/LF bytes at the start (keep-alives and RFC 3261 § 7.5 leading blank lines). */
export function leadingLineBreaks(data: Buffer, from = 0): number {
  let i = from;
  while (i < data.length && (data[i] === 0x0d || data[i] === 0x0a)) i++;
  return i - from;
}

/** Methods every peer sends; others still parse, through the token check. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'ACK', 'BYE', 'CANCEL', 'INFO', 'INVITE', 'MESSAGE', 'NOTIFY', 'OPTIONS', 'PRACK', 'PUBLISH', 'REFER', 'REGISTER', 'SUBSCRIBE', 'UPDATE',
]);

/** `[1-6]DIGIT DIGIT` at `at` (checked by character codes: a regular expression per response cost more). */
function isStatusCode(line: string, at: number): boolean {
  const first = line.charCodeAt(at);
  return first >= 0x31 && first <= 0x36 && isDigit(line.charCodeAt(at + 1)) && isDigit(line.charCodeAt(at + 2));
}

const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;

/** A Content-Length value (`1*9DIGIT` here), or undefined when it is not one. */
function contentLengthOf(value: string): number | undefined {
  if (value.length === 0 || value.length > 9) return undefined;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (!isDigit(code)) return undefined;
    n = n * 10 + (code - 0x30);
  }
  return n;
}

// The start line parseStartLine read last, in module fields rather than an object per message
// (parseParts reads them at once, before any other message is parsed; −50 bytes a parsed 200 OK).
/** Method, or '' for a response. */
let startMethod = '';
/** Request-URI, or the reason phrase. */
let startText = '';
/** 0 for a request. */
let startStatus = 0;

/**
 * Reads the start line at `head[start, end)` into startMethod, startText and startStatus. A
 * status line is read where it stands, its code by character codes: slicing the line, then its
 * code, and converting that with Number() cost more (every answer comes through here).
 */
function parseStartLine(head: string, start: number, end: number): SipParseError | undefined {
  if (head.startsWith(STATUS_PREFIX, start)) {
    // `SIP/2.0 NNN[ reason]` with NNN in 100..699 (§ 7.2).
    const at = start + STATUS_PREFIX.length;
    if (end - at < 3 || !isStatusCode(head, at) || (end > at + 3 && head.charCodeAt(at + 3) !== 0x20)) {
      return new SipParseError(`bad status line: ${head.slice(start, Math.min(end, start + 80))}`);
    }
    startStatus = (head.charCodeAt(at) - 0x30) * 100 + (head.charCodeAt(at + 1) - 0x30) * 10 + (head.charCodeAt(at + 2) - 0x30);
    startMethod = '';
    startText = end > at + 3 ? head.slice(at + 4, end) : '';
    return undefined;
  }
  const line = head.slice(start, end);
  const parts = line.split(' ');
  if (parts.length !== 3 || parts[2] !== SIP_VERSION) return new SipParseError(`bad request line: ${line.slice(0, 80)}`);
  if (!KNOWN_METHODS.has(parts[0]!) && !TOKEN.test(parts[0]!)) return new SipParseError(`bad method: ${parts[0]!.slice(0, 40)}`);
  if (parts[1] === '' || !parts[1]!.includes(':')) return new SipParseError('bad Request-URI');
  startStatus = 0;
  startMethod = parts[0]!.toUpperCase();
  startText = parts[1]!;
  return undefined;
}

/** SP or HTAB (§ 25.1 LWS), or a stray CR left before a line's LF. */
const isBlank = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0d;

/** The first comma in `text` at or after `from`, or text.length when there is none. */
function nextComma(text: string, from: number): number {
  const comma = text.indexOf(',', from);
  return comma === -1 ? text.length : comma;
}

/**
 * Adds one header whose value is `head[start, end)` (trimmed), or `folded` when continuation
 * lines were joined into it; list headers are split at top-level commas (§ 7.3.1). `comma`, for
 * a list header: the first comma in `head` at or after `start` (head.length when none).
 */
function addHeader(headers: SipHeaders, head: string, spelling: HeaderSpelling, start: number, end: number, folded: string | undefined, comma: number): void {
  if (folded === undefined && !(spelling.list && comma < end)) {
    headers.addRange(spelling, start, end);
    return;
  }
  const value = folded ?? head.slice(start, end);
  if (spelling.list && value.includes(',')) for (const part of splitHeaderList(value)) headers.addSpelled(spelling, part);
  else headers.addSpelled(spelling, value);
}

/**
 * Parses the header lines of `head[pos, limit)` (after the start line) into `headers`, unfolding
 * continuation lines (§ 7.3.1). Lines end in LF with an optional CR before it. Works on offsets
 * into `head`: names are looked up where they stand and values are kept as offsets, sliced when
 * first read, so a header nobody reads costs no string (every datagram comes through here).
 * `toBlankLine`: the block ends at the first empty line (CRLF or bare LF, § 7.5), found as the
 * lines are walked, and its absence is an error; otherwise it ends at `limit`. Returns where the
 * body starts. (Two searches of the whole text for the blank line before the walk made a 200 OK
 * to REGISTER cost 0.93 µs to parse, against 0.87 µs: bench/sip-register-path.bench.ts.)
 */
function parseHeaderLines(headers: SipHeaders, head: string, pos: number, limit: number, toBlankLine: boolean): number | SipParseError {
  let spelling: HeaderSpelling | undefined;
  let valueStart = 0;
  let valueEnd = 0;
  let folded: string | undefined;
  // The next comma at or after the current list header's value: found once and reused by the
  // lines before it (a search from each list header's value ran on to the end of the message
  // when it had none).
  let comma = -1;
  let bodyStart = toBlankLine ? -1 : limit;
  while (pos < limit) {
    const lf = head.indexOf('\n', pos);
    if (toBlankLine) {
      if (lf === -1) return new SipParseError('no blank line after the headers');
      if (lf === pos || (lf === pos + 1 && head.charCodeAt(pos) === 0x0d)) {
        bodyStart = lf + 1;
        break;
      }
    }
    const next = lf === -1 || lf >= limit ? limit : lf + 1;
    let end = lf === -1 || lf >= limit ? limit : lf;
    while (end > pos && isBlank(head.charCodeAt(end - 1))) end--;
    const first = head.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) {
      if (spelling === undefined) return new SipParseError('continuation line before any header');
      let start = pos;
      while (start < end && isBlank(head.charCodeAt(start))) start++;
      if (start < end) folded = `${folded ?? head.slice(valueStart, valueEnd)} ${head.slice(start, end)}`;
      pos = next;
      continue;
    }
    if (spelling !== undefined) {
      if (spelling.list && comma < valueStart) comma = nextComma(head, valueStart);
      addHeader(headers, head, spelling, valueStart, valueEnd, folded, comma);
    }
    const colon = head.indexOf(':', pos);
    if (colon <= pos || colon >= end) return new SipParseError(`header line without a name: ${head.slice(pos, Math.min(end, pos + 60))}`);
    let nameEnd = colon;
    while (nameEnd > pos && isBlank(head.charCodeAt(nameEnd - 1))) nameEnd--;
    spelling = nameEnd > pos ? wireSpellingAt(head, pos, nameEnd) : undefined;
    if (spelling === undefined) return new SipParseError(`bad header name: ${head.slice(pos, Math.min(nameEnd, pos + 40))}`);
    valueStart = colon + 1;
    while (valueStart < end && isBlank(head.charCodeAt(valueStart))) valueStart++;
    valueEnd = end;
    folded = undefined;
    pos = next;
  }
  if (bodyStart === -1) return new SipParseError('no blank line after the headers');
  if (spelling !== undefined) {
    if (spelling.list && comma < valueStart) comma = nextComma(head, valueStart);
    addHeader(headers, head, spelling, valueStart, valueEnd, folded, comma);
  }
  return bodyStart;
}

/** The method of a CSeq value (`1*10DIGIT LWS method`, upper-cased), or undefined when malformed. */
function cseqMethodOf(value: string): string | undefined {
  const text = value.trim();
  let digits = 0;
  while (digits < text.length && text.charCodeAt(digits) >= 0x30 && text.charCodeAt(digits) <= 0x39) digits++;
  if (digits === 0 || digits > 10) return undefined;
  const first = text.charCodeAt(digits);
  if (first !== 0x20 && first !== 0x09) return undefined;
  const method = text.slice(digits + 1).trimStart();
  if (KNOWN_METHODS.has(method)) return method;
  return TOKEN.test(method) ? method.toUpperCase() : undefined;
}

/**
 * Parses one message. `stream` means the caller already framed it by Content-Length, so a
 * missing Content-Length is fine; on a datagram, bytes beyond Content-Length are discarded and
 * a body shorter than Content-Length is an error (§ 18.3).
 */
export function parseSipMessage(data: Buffer): SipMessage | SipParseError {
  // Fast path: the whole message decoded once and searched as text. When every byte is one
  // character (ASCII, which SIP's own syntax is; a UTF-8 decode never yields more characters than
  // bytes and yields fewer as soon as a multi-byte sequence appears), text offsets are byte
  // offsets, so the body can still be cut from the bytes.
  const text = data.toString('utf8');
  if (text.length === data.length) {
    let start = 0;
    while (start < text.length && (text.charCodeAt(start) === 0x0d || text.charCodeAt(start) === 0x0a)) start++;
    return parseParts(data, text, start, text.length, undefined);
  }
  const start = leadingLineBreaks(data);
  const end = findHeaderEnd(data, start);
  if (end === undefined) return new SipParseError('no blank line after the headers');
  // The header block up to and including the last header line's line break.
  const head = data.toString('utf8', start, end.index);
  return parseParts(data, head, 0, head.length, end.index + end.length);
}

/**
 * The message whose start line begins at `head[start]`; its header block ends at `head[limit]`
 * and its body at byte `bodyStart` of `data` when the caller found the blank line (else the
 * header lines are read up to the blank line, and `head` is the whole message).
 */
function parseParts(data: Buffer, head: string, start: number, limit: number, bodyStart: number | undefined): SipMessage | SipParseError {
  const firstLf = head.indexOf('\n', start);
  if (firstLf === -1) return new SipParseError('no blank line after the headers');
  const badStart = parseStartLine(head, start, firstLf > start && head.charCodeAt(firstLf - 1) === 0x0d ? firstLf - 1 : firstLf);
  if (badStart !== undefined) return badStart;
  const method = startMethod;
  const text = startText;
  const status = startStatus;
  const headers = new SipHeaders(head);
  const headerEnd = parseHeaderLines(headers, head, firstLf + 1, limit, bodyStart === undefined);
  if (headerEnd instanceof SipParseError) return headerEnd;
  bodyStart ??= headerEnd;
  if (headers.requiredSeen !== ALL_REQUIRED) return new SipParseError(`missing ${missingRequired(headers.requiredSeen)}`);
  const cseqMethod = cseqMethodOf(headers.getSpelled(CSEQ)!);
  if (cseqMethod === undefined) return new SipParseError('bad CSeq');
  if (status === 0 && cseqMethod !== method) {
    return new SipParseError('CSeq method differs from the request method');
  }

  let bodyEnd = data.length;
  const contentLength = headers.getSpelled(CONTENT_LENGTH);
  if (contentLength !== undefined) {
    const declared = contentLengthOf(contentLength);
    if (declared === undefined) return new SipParseError('bad Content-Length');
    if (bodyStart + declared > data.length) return new SipParseError('body shorter than Content-Length');
    bodyEnd = bodyStart + declared;
  }
  const body = bodyEnd > bodyStart ? data.subarray(bodyStart, bodyEnd) : EMPTY_BODY;
  const branch = viaBranch(headers.getSpelled(VIA));

  if (status === 0) {
    const request: SipRequest = { kind: 'request', method, uri: text, headers, body, cseqMethod, branch };
    return request;
  }
  const response: SipResponse = { kind: 'response', status, reason: text, headers, body, cseqMethod, branch };
  return response;
}

function serializeHeaders(headers: SipHeaders, bodyLength: number): string {
  return `${headers.writeTo('', 'content-length')}Content-Length: ${bodyLength}\r\n\r\n`;
}

function withBody(head: string, body: Buffer | string | undefined): Buffer {
  if (body === undefined || body.length === 0) return Buffer.from(head, 'utf8');
  const bodyBuffer = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(head, 'utf8'), bodyBuffer]);
}

function bodyLength(body: Buffer | string | undefined): number {
  if (body === undefined) return 0;
  return typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
}

/** Serialises a request; Content-Length is always computed from the body. */
export function serializeRequest(method: string, uri: string, headers: SipHeaders, body?: Buffer | string): Buffer {
  const head = `${method} ${uri} ${SIP_VERSION}\r\n${serializeHeaders(headers, bodyLength(body))}`;
  return withBody(head, body);
}

/** Serialises a response; Content-Length is always computed from the body. */
export function serializeResponse(status: number, reason: string, headers: SipHeaders, body?: Buffer | string): Buffer {
  const head = `${SIP_VERSION} ${status} ${reason}\r\n${serializeHeaders(headers, bodyLength(body))}`;
  return withBody(head, body);
}
