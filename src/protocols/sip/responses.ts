/**
 * Builds a response to a request (RFC 3261 § 8.2.6): Via, From, To, Call-ID and CSeq copied.
 * Written straight to the wire format: every NOTIFY and MESSAGE a user receives is answered here.
 */
import { nameAddrParam } from './address.js';
import type { SipRequest } from './message.js';

export function buildResponse(
  request: SipRequest,
  status: number,
  reason: string,
  toTag: string,
  extra?: ReadonlyArray<readonly [string, string]>,
  body?: string,
  contentType?: string,
): Buffer {
  const headers = request.headers;
  let head = `SIP/2.0 ${status} ${reason}\r\n`;
  for (const via of headers.getAll('Via')) head += `Via: ${via}\r\n`;
  const to = headers.get('To')!;
  // § 8.2.6.2: add a To tag when the request had none.
  const taggedTo = nameAddrParam(to, 'tag') === undefined ? `${to};tag=${toTag}` : to;
  head += `From: ${headers.get('From')!}\r\nTo: ${taggedTo}\r\nCall-ID: ${headers.get('Call-ID')!}\r\nCSeq: ${headers.get('CSeq')!}\r\n`;
  if (extra !== undefined) for (const [name, value] of extra) head += `${name}: ${value}\r\n`;
  if (body === undefined || body.length === 0) return Buffer.from(`${head}Content-Length: 0\r\n\r\n`, 'utf8');
  if (contentType !== undefined) head += `Content-Type: ${contentType}\r\n`;
  return Buffer.from(`${head}Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`, 'utf8');
}
