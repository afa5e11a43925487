/**
 * Content-Length framing of SIP on streams (RFC 3261 § 18.3): a TCP/TLS byte stream is cut into
 * messages at the blank line plus Content-Length body bytes. CRLF keep-alives between messages
 * (RFC 5626 § 3.5.1: a CRLFCRLF "ping" is answered by a CRLF "pong") are reported separately.
 */
import { findHeaderEnd, leadingLineBreaks, parseSipMessage } from './codec.js';
import { SipParseError, type SipMessage } from './message.js';

/** Limits that keep a misbehaving peer from making the framer buffer without bound. */
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;
const CONTENT_LENGTH_LINE = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im;

export interface FramerSink {
  /** One framed message, or a parse error for a message whose framing was still intact. */
  message(message: SipMessage | SipParseError, wireBytes: number): void;
  /** The stream can no longer be framed (garbage or oversize); the caller should close it. */
  framingError(error: SipParseError): void;
  /** The peer sent a CRLFCRLF keep-alive ping; the caller answers with CRLF. */
  ping(): void;
}

export class StreamFramer {
  private pending: Buffer | undefined;
  private broken = false;

  constructor(private readonly sink: FramerSink) {}

  push(chunk: Buffer): void {
    if (this.broken) return;
    let data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    // Bounded by the data length: every pass consumes at least one byte or stops.
    while (data.length > 0) {
      const breaks = leadingLineBreaks(data);
      if (breaks > 0) {
        if (breaks >= 4 && data.subarray(0, 4).toString('latin1') === '\r\n\r\n') this.sink.ping();
        if (breaks === data.length) return;
        data = data.subarray(breaks);
      }
      const end = findHeaderEnd(data);
      if (end === undefined) {
        if (data.length > MAX_HEADER_BYTES) return this.fail('header block too large');
        this.pending = Buffer.from(data);
        return;
      }
      const head = data.toString('latin1', 0, end.index);
      const match = CONTENT_LENGTH_LINE.exec(head);
      const declared = match ? Number(match[1]) : 0;
      if (declared > MAX_BODY_BYTES) return this.fail('body too large');
      const total = end.index + end.length + declared;
      if (data.length < total) {
        this.pending = Buffer.from(data);
        return;
      }
      this.sink.message(parseSipMessage(data.subarray(0, total)), total);
      data = data.subarray(total);
    }
  }

  private fail(reason: string): void {
    this.broken = true;
    this.pending = undefined;
    this.sink.framingError(new SipParseError(reason));
  }
}
