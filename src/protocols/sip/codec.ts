/**
 * RFC 3261 § 7 message codec. `parseSipMessage` returns a `SipParseError` for anything it
 * cannot make sense of, so one malformed datagram or stream message never escapes as an
 * exception into a socket handler.
 */
import { viaBranch } from './address.js';
import {
  EMPTY_BODY,
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
/** Resolved once: every datagram is checked for these and read for three of them. */
const CALL_ID = spellingOf('Call-ID');
const CSEQ = spellingOf('CSeq');
const VIA = spellingOf('Via');
const CONTENT_LENGTH = spellingOf('Content-Length');
const MANDATORY = [CALL_ID, CSEQ, spellingOf('From'), spellingOf('To'), VIA];

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

function parseStartLine(line: string): SipParseError | { request: boolean; a: string; b: string } {
  if (line.startsWith(STATUS_PREFIX)) {
    // `SIP/2.0 NNN[ reason]` with NNN in 100..699 (§ 7.2).
    const code = line.slice(STATUS_PREFIX.length, STATUS_PREFIX.length + 3);
    const after = line.length === STATUS_PREFIX.length + 3 ? undefined : line[STATUS_PREFIX.length + 3];
    if (!/^[1-6]\d\d$/.test(code) || (after !== undefined && after !== ' ')) return new SipParseError(`bad status line: ${line.slice(0, 80)}`);
    return { request: false, a: code, b: after === undefined ? '' : line.slice(STATUS_PREFIX.length + 4) };
  }
  const parts = line.split(' ');
  if (parts.length !== 3 || parts[2] !== SIP_VERSION) return new SipParseError(`bad request line: ${line.slice(0, 80)}`);
  if (!KNOWN_METHODS.has(parts[0]!) && !TOKEN.test(parts[0]!)) return new SipParseError(`bad method: ${parts[0]!.slice(0, 40)}`);
  if (parts[1] === '' || !parts[1]!.includes(':')) return new SipParseError('bad Request-URI');
  return { request: true, a: parts[0]!, b: parts[1]! };
}

/** SP or HTAB (§ 25.1 LWS), or a stray CR left before a line's LF. */
const isBlank = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0d;

function hasComma(text: string, start: number, end: number): boolean {
  const comma = text.indexOf(',', start);
  return comma !== -1 && comma < end;
}

/**
 * Adds one header whose value is `head[start, end)` (trimmed), or `folded` when continuation
 * lines were joined into it; list headers are split at top-level commas (§ 7.3.1).
 */
function addHeader(headers: SipHeaders, head: string, spelling: HeaderSpelling, start: number, end: number, folded: string | undefined): void {
  if (folded === undefined && !(spelling.list && hasComma(head, start, end))) {
    headers.addRange(spelling, start, end);
    return;
  }
  const value = folded ?? head.slice(start, end);
  if (spelling.list && value.includes(',')) for (const part of splitHeaderList(value)) headers.addSpelled(spelling, part);
  else headers.addSpelled(spelling, value);
}

/**
 * Parses the header lines of `head` from `pos` (after the start line), unfolding continuation
 * lines (§ 7.3.1). Lines end in LF with an optional CR before it. Works on offsets into `head`:
 * names are looked up where they stand and values are kept as offsets, sliced when first read,
 * so a header nobody reads costs no string (every datagram comes through here).
 */
function parseHeaderLines(head: string, pos: number): SipHeaders | SipParseError {
  const headers = new SipHeaders(head);
  let spelling: HeaderSpelling | undefined;
  let valueStart = 0;
  let valueEnd = 0;
  let folded: string | undefined;
  while (pos < head.length) {
    const lf = head.indexOf('\n', pos);
    const next = lf === -1 ? head.length : lf + 1;
    let end = lf === -1 ? head.length : lf;
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
    if (spelling !== undefined) addHeader(headers, head, spelling, valueStart, valueEnd, folded);
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
  if (spelling !== undefined) addHeader(headers, head, spelling, valueStart, valueEnd, folded);
  return headers;
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
  const start = leadingLineBreaks(data);
  const end = findHeaderEnd(data, start);
  if (end === undefined) return new SipParseError('no blank line after the headers');
  // The header block up to and including the last header line's line break.
  const head = data.toString('utf8', start, end.index);
  const firstLf = head.indexOf('\n');
  const startLine = parseStartLine(head.slice(0, firstLf > 0 && head.charCodeAt(firstLf - 1) === 0x0d ? firstLf - 1 : firstLf));
  if (startLine instanceof SipParseError) return startLine;
  const headers = parseHeaderLines(head, firstLf + 1);
  if (headers instanceof SipParseError) return headers;
  for (const spelling of MANDATORY) {
    if (!headers.hasSpelled(spelling)) return new SipParseError(`missing ${spelling.name}`);
  }
  const cseqMethod = cseqMethodOf(headers.getSpelled(CSEQ)!);
  if (cseqMethod === undefined) return new SipParseError('bad CSeq');
  if (startLine.request && cseqMethod !== startLine.a.toUpperCase()) {
    return new SipParseError('CSeq method differs from the request method');
  }

  const bodyStart = end.index + end.length;
  let bodyEnd = data.length;
  const contentLength = headers.getSpelled(CONTENT_LENGTH);
  if (contentLength !== undefined) {
    if (!/^\d{1,9}$/.test(contentLength)) return new SipParseError('bad Content-Length');
    const declared = Number(contentLength);
    if (bodyStart + declared > data.length) return new SipParseError('body shorter than Content-Length');
    bodyEnd = bodyStart + declared;
  }
  const body = bodyEnd > bodyStart ? data.subarray(bodyStart, bodyEnd) : EMPTY_BODY;
  const branch = viaBranch(headers.getSpelled(VIA));

  if (startLine.request) {
    const request: SipRequest = { kind: 'request', method: startLine.a.toUpperCase(), uri: startLine.b, headers, body, cseqMethod, branch };
    return request;
  }
  const response: SipResponse = { kind: 'response', status: Number(startLine.a), reason: startLine.b, headers, body, cseqMethod, branch };
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
