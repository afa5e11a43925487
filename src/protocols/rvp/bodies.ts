/**
 * XML and MIME the agent writes and reads (research/rvp.md §5, §7), in the Miranda shape.
 * The presence note travels as our own property `i:note` (namespace urn:imload:rvp) set in
 * the same PROPPATCH as `r:state`; servers include changed properties in propnotifications.
 */
import { randomUUID } from 'node:crypto';
import { NS_DAV, NS_IMLOAD, NS_RVP, ROOT_NS, XML_DECL, cdata, child, escapeXml, is, parseXml, path, type XmlElement } from './wire/xml.js';
import type { PresenceState } from '../types.js';

const NOTE_NS = 'urn:imload:rvp';

export function presencePatch(state: string, leaseSeconds: number, viewId: string | undefined, note: string): string {
  const view = viewId === undefined ? '' : `<r:view-id>${escapeXml(viewId)}</r:view-id>`;
  return (
    `${XML_DECL}<d:propertyupdate ${ROOT_NS} xmlns:i="${NOTE_NS}"><d:set><d:prop><r:state><r:leased-value>` +
    `<r:value><r:${state}/></r:value><r:default-value><r:offline/></r:default-value><d:timeout>${Math.max(1, Math.round(leaseSeconds))}</d:timeout>` +
    `</r:leased-value>${view}</r:state><i:note>${escapeXml(note)}</i:note></d:prop></d:set></d:propertyupdate>`
  );
}

/** A new conversation's Session-Id: an upper-case GUID in braces (§7). */
export function newSessionId(): string {
  return `{${randomUUID().toUpperCase()}}`;
}

export function instantMessage(fromUrl: string, toUrl: string, text: string, sessionId: string): string {
  const mime =
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n' +
    'X-MMS-IM-Format: FN=Microsoft%20Sans%20Serif; EF=; CO=0; CS=0; PF=22\r\n' +
    `Session-Id: ${sessionId}\r\n\r\n${text}`;
  return (
    `${XML_DECL}<r:notification ${ROOT_NS}><r:message>` +
    `<r:notification-from><r:contact><d:href>${escapeXml(fromUrl)}</d:href></r:contact></r:notification-from>` +
    `<r:notification-to><r:contact><d:href>${escapeXml(toUrl)}</d:href></r:contact></r:notification-to>` +
    `<r:msgbody><r:mime-data>${cdata(mime)}</r:mime-data></r:msgbody></r:message></r:notification>`
  );
}

export type IncomingNotification =
  | { readonly kind: 'message'; readonly from: string; readonly contentType: string; readonly text: string }
  | { readonly kind: 'presence'; readonly from: string; readonly status: string | undefined; readonly note: string | undefined };

export class NotificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotificationError';
  }
}

/** Decodes a NOTIFY body received on the callback. Throws NotificationError or XmlError. */
export function parseNotification(body: string): IncomingNotification {
  const root = parseXml(body);
  if (!is(root, NS_RVP, 'notification')) throw new NotificationError('root is not r:notification');
  const message = child(root, NS_RVP, 'message');
  if (message !== undefined) {
    const mime = path(message, [NS_RVP, 'msgbody'], [NS_RVP, 'mime-data'])?.text;
    if (mime === undefined) throw new NotificationError('r:message without r:msgbody/r:mime-data');
    const { contentType, text } = splitMime(mime);
    return { kind: 'message', from: senderAlias(message), contentType, text };
  }
  const propnotification = child(root, NS_RVP, 'propnotification');
  if (propnotification === undefined) throw new NotificationError('r:notification without r:message or r:propnotification');
  // Miranda also accepts d:propstat where d:propertyupdate/d:set is expected (§5).
  const prop =
    path(propnotification, [NS_DAV, 'propertyupdate'], [NS_DAV, 'set'], [NS_DAV, 'prop']) ??
    path(propnotification, [NS_DAV, 'propstat'], [NS_DAV, 'prop']);
  const state = child(prop, NS_RVP, 'state');
  const status = state === undefined ? undefined : statusOf(state);
  const note = child(prop, NS_IMLOAD, 'note')?.text;
  return { kind: 'presence', from: senderAlias(propnotification), status, note };
}

/**
 * The contact's current state and note from the 207 that answers an update/propchange
 * SUBSCRIBE (or a PROPFIND): the first `200` propstat that carries `r:state`. Undefined when the
 * body has none (a server may answer 200 without a body). Throws XmlError on malformed XML.
 */
export function parseCurrentPresence(body: string): { readonly status: string; readonly note: string | undefined } | undefined {
  if (body.trim() === '') return undefined;
  const root = parseXml(body);
  if (!is(root, NS_DAV, 'multistatus')) return undefined;
  for (const response of root.children) {
    if (!is(response, NS_DAV, 'response')) continue;
    for (const propstat of response.children) {
      if (!is(propstat, NS_DAV, 'propstat')) continue;
      const statusLine = child(propstat, NS_DAV, 'status')?.text ?? 'HTTP/1.1 200';
      if (!/^\s*HTTP\/\d\.\d\s+200\b/.test(statusLine)) continue;
      const prop = child(propstat, NS_DAV, 'prop');
      const state = child(prop, NS_RVP, 'state');
      const status = state === undefined ? undefined : statusOf(state);
      if (status !== undefined) return { status, note: child(prop, NS_IMLOAD, 'note')?.text };
    }
  }
  return undefined;
}

/** The status element's name; leased forms carry it under r:leased-value/r:value. */
function statusOf(state: XmlElement): string | undefined {
  const value = path(state, [NS_RVP, 'leased-value'], [NS_RVP, 'value']) ?? state;
  return value.children.find((c) => c.ns === NS_RVP && c.local !== 'view-id')?.local;
}

function senderAlias(element: XmlElement): string {
  const href = path(element, [NS_RVP, 'notification-from'], [NS_RVP, 'contact'], [NS_DAV, 'href'])?.text.replace(/\s+/g, '');
  if (!href) throw new NotificationError('notification without notification-from href');
  return aliasOf(href);
}

/** `http://im.x/instmsg/aliases/bob` (or the physical form) → `bob` (§1 reverse mapping). */
export function aliasOf(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  const segment = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** RFC 822-style MIME headers, a blank line, then the body (§7). */
function splitMime(mime: string): { contentType: string; text: string } {
  const crlf = mime.indexOf('\r\n\r\n');
  const lf = mime.indexOf('\n\n');
  const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
  const head = end < 0 ? mime : mime.slice(0, end);
  const text = end < 0 ? '' : mime.slice(end + (end === crlf ? 4 : 2));
  const type = /^content-type:\s*([^;\r\n]+)/im.exec(head)?.[1]?.trim().toLowerCase() ?? 'text/plain';
  return { contentType: type, text };
}

/** Maps RVP status elements (§4, Miranda's map) to the engine's four states. */
export function toPresenceState(status: string): PresenceState | undefined {
  switch (status) {
    case 'online':
      return 'online';
    case 'busy':
    case 'on-phone':
      return 'busy';
    case 'away':
    case 'back-soon':
    case 'at-lunch':
    case 'idle':
      return 'away';
    case 'offline':
    case 'invisible':
      return 'offline';
    default:
      return undefined;
  }
}
