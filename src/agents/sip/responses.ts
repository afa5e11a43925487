/** Builds a response to a request (RFC 3261 § 8.2.6): Via, From, To, Call-ID and CSeq copied. */
import { parseNameAddr } from './address.js';
import { serializeResponse } from './codec.js';
import { SipHeaders, type SipRequest } from './message.js';

export function buildResponse(
  request: SipRequest,
  status: number,
  reason: string,
  toTag: string,
  extra?: ReadonlyArray<readonly [string, string]>,
  body?: string,
  contentType?: string,
): Buffer {
  const headers = new SipHeaders();
  for (const via of request.headers.getAll('Via')) headers.add('Via', via);
  headers.add('From', request.headers.get('From')!);
  const to = request.headers.get('To')!;
  // § 8.2.6.2: add a To tag when the request had none.
  headers.add('To', parseNameAddr(to)?.params.has('tag') ? to : `${to};tag=${toTag}`);
  headers.add('Call-ID', request.headers.get('Call-ID')!);
  headers.add('CSeq', request.headers.get('CSeq')!);
  for (const [name, value] of extra ?? []) headers.add(name, value);
  if (body !== undefined && contentType !== undefined) headers.add('Content-Type', contentType);
  return serializeResponse(status, reason, headers, body);
}
