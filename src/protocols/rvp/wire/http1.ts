/**
 * A small HTTP/1.1 message codec for RVP. We own it because Node's parser (llhttp) rejects
 * methods it does not know, and RVP adds SUBSCRIPTIONS (docs/decisions.md). It parses both
 * requests (server side, agent callback listener) and responses (NOTIFY relay, agent client).
 *
 * Tolerances (research/rvp.md §2): bare LF line endings, leading empty lines, any method token.
 * Bounds: head size (431) and Content-Length body size (413). Bodies must be Content-Length
 * framed; RVP peers never use chunked encoding, so a request that asks for it is refused.
 */

/** A malformed or oversized message; `status` is what a server should answer with. */
export class HttpParseError extends Error {
  constructor(
    readonly status: 400 | 413 | 431 | 501 | 505,
    message: string,
  ) {
    super(message);
    this.name = 'HttpParseError';
  }
}

export interface HttpHeaders {
  /** Header names lower-cased; repeated headers joined with ", " (except where noted). */
  readonly map: Map<string, string>;
  /** Every value of a header in arrival order (WWW-Authenticate may repeat and contain commas). */
  readonly all: Map<string, string[]>;
}

export interface HttpRequest {
  readonly method: string;
  readonly target: string;
  readonly version: '1.0' | '1.1';
  readonly headers: HttpHeaders;
  readonly body: Buffer;
  /** Bytes this message occupied on the wire. */
  readonly wireBytes: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly reason: string;
  readonly version: '1.0' | '1.1';
  readonly headers: HttpHeaders;
  readonly body: Buffer;
  readonly wireBytes: number;
}

export interface ParserLimits {
  readonly maxHeadBytes: number;
  readonly maxBodyBytes: number;
}

export const DEFAULT_LIMITS: ParserLimits = { maxHeadBytes: 16 * 1024, maxBodyBytes: 256 * 1024 };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VERSION = /^HTTP\/1\.([01])$/;
const LF = 0x0a;

interface Head {
  readonly startLine: string;
  readonly headers: HttpHeaders;
  readonly headBytes: number;
}

/**
 * Incremental parser for one connection. `push` bytes as they arrive; `next` returns the next
 * complete message or undefined when more bytes are needed. Throws HttpParseError.
 */
abstract class MessageParser<T> {
  private buffer: Buffer = Buffer.alloc(0);
  private head: Head | undefined;
  private bodyLength = 0;

  constructor(protected readonly limits: ParserLimits) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  /** Bytes received that do not yet form a complete message. */
  get pendingBytes(): number {
    return this.buffer.length;
  }

  next(): T | undefined {
    if (this.head === undefined) {
      this.skipLeadingBlankLines();
      const end = findHeadEnd(this.buffer, this.limits.maxHeadBytes);
      if (end < 0) {
        if (this.buffer.length > this.limits.maxHeadBytes) {
          throw new HttpParseError(431, 'request header fields too large');
        }
        return undefined;
      }
      this.head = parseHead(this.buffer.toString('latin1', 0, end), end);
      this.bodyLength = this.bodyLengthOf(this.head);
    }
    const headBytes = this.head.headBytes;
    if (this.buffer.length < headBytes + this.bodyLength) return undefined;
    const body = this.buffer.subarray(headBytes, headBytes + this.bodyLength);
    const message = this.build(this.head, body, headBytes + this.bodyLength);
    this.buffer = this.buffer.subarray(headBytes + this.bodyLength);
    this.head = undefined;
    return message;
  }

  protected abstract build(head: Head, body: Buffer, wireBytes: number): T;
  protected abstract bodyLengthOf(head: Head): number;

  protected contentLength(headers: HttpHeaders): number {
    if (headers.map.has('transfer-encoding')) {
      throw new HttpParseError(501, 'transfer-encoding is not supported; send Content-Length');
    }
    const values = headers.all.get('content-length');
    if (values === undefined) return 0;
    const first = values[0]!.trim();
    if (!/^\d{1,15}$/.test(first) || values.some((v) => v.trim() !== first)) {
      throw new HttpParseError(400, 'invalid Content-Length');
    }
    const length = Number(first);
    if (length > this.limits.maxBodyBytes) throw new HttpParseError(413, 'request body too large');
    return length;
  }

  private skipLeadingBlankLines(): void {
    let i = 0;
    while (i < this.buffer.length && (this.buffer[i] === LF || this.buffer[i] === 0x0d)) i++;
    if (i > 0) this.buffer = this.buffer.subarray(i);
  }
}

export class RequestParser extends MessageParser<HttpRequest> {
  protected bodyLengthOf(head: Head): number {
    return this.contentLength(head.headers);
  }

  protected build(head: Head, body: Buffer, wireBytes: number): HttpRequest {
    const parts = head.startLine.split(' ');
    if (parts.length !== 3 || !TOKEN.test(parts[0]!) || parts[1]!.length === 0) {
      throw new HttpParseError(400, 'malformed request line');
    }
    const version = VERSION.exec(parts[2]!);
    if (!version) throw new HttpParseError(505, 'unsupported HTTP version');
    return {
      method: parts[0]!,
      target: parts[1]!,
      version: version[1] === '0' ? '1.0' : '1.1',
      headers: head.headers,
      body,
      wireBytes,
    };
  }
}

export class ResponseParser extends MessageParser<HttpResponse> {
  protected bodyLengthOf(head: Head): number {
    const status = Number(head.startLine.slice(9, 12));
    if ((status >= 100 && status < 200) || status === 204 || status === 304) return 0;
    return this.contentLength(head.headers);
  }

  protected build(head: Head, body: Buffer, wireBytes: number): HttpResponse {
    const match = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(head.startLine);
    if (!match) throw new HttpParseError(400, 'malformed status line');
    return {
      status: Number(match[2]),
      reason: match[3] ?? '',
      version: match[1] === '0' ? '1.0' : '1.1',
      headers: head.headers,
      body,
      wireBytes,
    };
  }
}

/** Offset just past the blank line ending the head, or -1. Accepts CRLF and bare LF. */
function findHeadEnd(buffer: Buffer, limit: number): number {
  let from = 0;
  const max = Math.min(buffer.length, limit + 4);
  while (from < max) {
    const lf = buffer.indexOf(LF, from);
    if (lf < 0 || lf >= max) return -1;
    const next = buffer[lf + 1];
    if (next === LF) return lf + 2;
    if (next === 0x0d && buffer[lf + 2] === LF) return lf + 3;
    if (next === undefined || (next === 0x0d && lf + 2 >= buffer.length)) return -1;
    from = lf + 1;
  }
  return -1;
}

function parseHead(text: string, headBytes: number): Head {
  const lines = text.split('\n');
  const startLine = stripCr(lines[0]!);
  const map = new Map<string, string>();
  const all = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = stripCr(lines[i]!);
    if (line.length === 0) continue;
    if (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09) {
      throw new HttpParseError(400, 'obsolete header line folding');
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpParseError(400, 'header line without a colon');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpParseError(400, 'invalid header name');
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = map.get(key);
    map.set(key, previous === undefined ? value : `${previous}, ${value}`);
    const list = all.get(key);
    if (list) list.push(value);
    else all.set(key, [value]);
  }
  return { startLine, headers: { map, all }, headBytes };
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Whether the peer wants the connection kept open after this message. */
export function keepAlive(version: '1.0' | '1.1', headers: HttpHeaders): boolean {
  const connection = headers.map.get('connection')?.toLowerCase() ?? '';
  if (connection.includes('close')) return false;
  return version === '1.1' || connection.includes('keep-alive');
}

/** Serialises a message head and body. Always sends Content-Length, never chunked (§2). */
export function serialize(startLine: string, headers: readonly (readonly [string, string])[], body: Buffer | string): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let head = `${startLine}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += `Content-Length: ${payload.length}\r\n\r\n`;
  return payload.length === 0 ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

export const REASONS: Readonly<Record<number, string>> = {
  200: 'Successful',
  207: 'Multi-Status',
  302: 'Object Moved',
  400: 'Bad Request',
  401: 'Access Denied',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  412: 'Precondition Failed',
  413: 'Request Entity Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};
