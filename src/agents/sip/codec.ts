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
  isKnownSpelling,
  spellingOf,
  type HeaderSpelling,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './message.js';

const SIP_VERSION = 'SIP/2.0';
const STATUS_PREFIX = `${SIP_VERSION} `;
/** A method or header name is an RFC 3261 `token`. */
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const CSEQ = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/;
const MANDATORY = ['Call-ID', 'CSeq', 'From', 'To', 'Via'] as const;

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

/** Index of the blank line ending the header block (CRLF CRLF, or bare LF LF), and its length. */
export function findHeaderEnd(data: Buffer, from = 0): { index: number; length: number } | undefined {
  for (let i = data.indexOf(0x0a, from); i !== -1; i = data.indexOf(0x0a, i + 1)) {
    if (data[i + 1] === 0x0a) return { index: i + 1, length: 1 };
    if (data[i + 1] === 0x0d && data[i + 2] === 0x0a) return { index: i + 1, length: 2 };
  }
  return undefined;
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

/** Adds one header (name already canonical), splitting list headers at top-level commas. */
function addHeader(headers: SipHeaders, spelling: HeaderSpelling, value: string): void {
  if (spelling.list && value.includes(',')) for (const part of splitHeaderList(value)) headers.add(spelling.name, part);
  else headers.add(spelling.name, value.trim());
}

/**
 * Parses the header lines of `head` from `pos` (after the start line), unfolding continuation
 * lines (§ 7.3.1). Lines end in LF with an optional CR before it.
 */
function parseHeaderLines(head: string, pos: number): SipHeaders | SipParseError {
  const headers = new SipHeaders();
  let spelling: HeaderSpelling | undefined;
  let value = '';
  while (pos < head.length) {
    const lf = head.indexOf('\n', pos);
    const lineEnd = lf === -1 ? head.length : lf;
    const line = head.slice(pos, lineEnd > pos && head.charCodeAt(lineEnd - 1) === 0x0d ? lineEnd - 1 : lineEnd);
    pos = lineEnd + 1;
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      if (spelling === undefined) return new SipParseError('continuation line before any header');
      value += ` ${line.trim()}`;
      continue;
    }
    if (spelling !== undefined) addHeader(headers, spelling, value);
    const colon = line.indexOf(':');
    if (colon <= 0) return new SipParseError(`header line without a name: ${line.slice(0, 60)}`);
    const rawName = line.charCodeAt(colon - 1) === 0x20 || line.charCodeAt(colon - 1) === 0x09 ? line.slice(0, colon).trimEnd() : line.slice(0, colon);
    if (!isKnownSpelling(rawName) && !TOKEN.test(rawName)) return new SipParseError(`bad header name: ${rawName.slice(0, 40)}`);
    spelling = spellingOf(rawName);
    value = line.slice(colon + 1);
  }
  if (spelling !== undefined) addHeader(headers, spelling, value);
  return headers;
}

/** Parsed CSeq (sequence number and method), or undefined when malformed. */
export function parseCSeq(value: string | undefined): { seq: number; method: string } | undefined {
  if (value === undefined) return undefined;
  const match = CSEQ.exec(value.trim());
  if (!match) return undefined;
  return { seq: Number(match[1]), method: match[2]!.toUpperCase() };
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
  for (const name of MANDATORY) {
    if (!headers.has(name)) return new SipParseError(`missing ${name}`);
  }
  const cseq = parseCSeq(headers.get('CSeq'));
  if (cseq === undefined) return new SipParseError('bad CSeq');
  if (startLine.request && cseq.method !== startLine.a.toUpperCase()) {
    return new SipParseError('CSeq method differs from the request method');
  }

  const bodyStart = end.index + end.length;
  let bodyEnd = data.length;
  const contentLength = headers.get('Content-Length');
  if (contentLength !== undefined) {
    if (!/^\d{1,9}$/.test(contentLength)) return new SipParseError('bad Content-Length');
    const declared = Number(contentLength);
    if (bodyStart + declared > data.length) return new SipParseError('body shorter than Content-Length');
    bodyEnd = bodyStart + declared;
  }
  const body = bodyEnd > bodyStart ? data.subarray(bodyStart, bodyEnd) : EMPTY_BODY;
  const branch = viaBranch(headers.get('Via'));

  if (startLine.request) {
    const request: SipRequest = { kind: 'request', method: startLine.a.toUpperCase(), uri: startLine.b, headers, body, cseqMethod: cseq.method, branch };
    return request;
  }
  const response: SipResponse = { kind: 'response', status: Number(startLine.a), reason: startLine.b, headers, body, cseqMethod: cseq.method, branch };
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
