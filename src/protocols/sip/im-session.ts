/**
 * LCS-shaped instant messages (research/sip.md § 3.2 item 7): Windows Messenger opened an IM
 * session with INVITE (SDP `m=message`), sent each message as a MESSAGE inside that dialog and
 * ended it with BYE, where pager mode sends one MESSAGE. Target option `imMode: session` selects
 * this, so bandwidth is measured on the same message pattern LCS 2005's 1.6 kbit/s figure had.
 * One session per scheduled message: at 3 messages an hour they rarely share a conversation.
 *
 * The callee side is `answerSessionRequest`: 200 with SDP, Contact and the Record-Route copied
 * (§ 12.1.1) to INVITE, 200 to BYE; in-dialog MESSAGEs are answered like pager ones. The
 * callee does not retransmit its 2xx until the ACK (§ 13.3.1.4): on loopback a lost 200 ends
 * as the caller's send timeout, which is counted.
 */
import type { SendOutcome, VuEvents } from '../types.js';
import { dialogTarget, nameAddrUri, tagOf } from './address.js';
import type { SipRequest } from './message.js';
import { countPoolFailover } from './pool-failover.js';
import { SipTimeoutError } from './transactions.js';
import { SequenceCounter, type ResponseSpec, type UserAgent } from './ua.js';

const SDP_TYPE = 'application/sdp';

/** Session description of an IM-only session: no media port, just the message stream. */
function sdp(user: string, host: string): string {
  const version = Date.now() % 1_000_000;
  return [
    'v=0',
    `o=${user} ${version} ${version} IN IP4 ${host}`,
    's=imload',
    `c=IN IP4 ${host}`,
    't=0 0',
    'm=message 0 sip null',
    'a=accept-types:text/plain',
    '',
  ].join('\r\n');
}

/** INVITE → ACK → MESSAGE in the dialog → BYE. The outcome is the MESSAGE's (or the INVITE's), known before the BYE's. */
export async function sendInSession(ua: UserAgent, events: VuEvents, user: string, host: string, uri: string, text: string): Promise<SendOutcome> {
  const callId = ua.newCallId();
  const fromTag = ua.newTag();
  const cseq = new SequenceCounter();
  try {
    const invite = await ua.request({ method: 'INVITE', uri, to: `<${uri}>`, fromTag, callId, cseq, contact: true, contentType: SDP_TYPE, body: sdp(user, host) });
    if (invite.status >= 300) return failed(invite.status, invite.reason);
    // A UAC reverses the Record-Route of the 2xx to get its route set (§ 12.1.2).
    const routeSet = invite.headers.getAll('Record-Route').reverse();
    const remoteTarget = nameAddrUri(invite.headers.get('Contact') ?? '') ?? uri;
    const target = dialogTarget(remoteTarget, routeSet);
    const dialog = { uri: target.uri, route: target.route, to: `<${uri}>;tag=${tagOf(invite.headers.get('To')) ?? ''}`, fromTag, callId, cseq };
    ua.ackInvite(dialog);
    const message = await ua.request({ ...dialog, method: 'MESSAGE', contentType: 'text/plain;charset=UTF-8', body: text });
    // The session ends whatever the MESSAGE's fate, but the send's outcome is the MESSAGE's: an
    // unanswered BYE (its callee gone) must not hold this user's next action for Timer F. A
    // failed BYE only leaves state at the callee; a logoff aborts one still in flight.
    void ua.request({ ...dialog, method: 'BYE' }).catch(() => undefined);
    if (message.status >= 300) return failed(message.status, message.reason);
    // A pool's dispatcher routes the INVITE (the dialog's MESSAGE and BYE go round it, by its
    // route set): a session whose INVITE it re-sent, and whose MESSAGE then went through, was retried.
    countPoolFailover(events, 'INVITE', invite);
    return { ok: true, recipients: 1 };
  } catch (failure) {
    if (failure instanceof SipTimeoutError) return { ok: false, reason: 'timeout', detail: failure.message };
    return { ok: false, reason: 'rejected', detail: failure instanceof Error ? failure.message : String(failure) };
  }
}

function failed(status: number, reason: string): SendOutcome {
  const detail = `${status} ${reason}`;
  if (status === 404 || status === 480) return { ok: false, reason: 'offline', detail };
  if (status === 408) return { ok: false, reason: 'timeout', detail };
  return { ok: false, reason: 'rejected', detail };
}

/** The callee's answer to INVITE and BYE; undefined for other methods. */
export function answerSessionRequest(request: SipRequest, contactUri: string, user: string, host: string): ResponseSpec | undefined {
  if (request.method === 'BYE') return { status: 200, reason: 'OK' };
  if (request.method !== 'INVITE') return undefined;
  const headers: [string, string][] = request.headers.getAll('Record-Route').map((route) => ['Record-Route', route]);
  headers.push(['Contact', `<${contactUri}>`]);
  return { status: 200, reason: 'OK', headers, body: sdp(user, host), contentType: SDP_TYPE };
}
