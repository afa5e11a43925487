/**
 * PIDF (RFC 3863) with the RPID activities extension (RFC 4480) for busy/away. Only what a
 * presence watcher needs: basic status, activity and the note. Parsing is a tolerant scan, not
 * a full XML parse, because servers reformat documents (namespace prefixes, whitespace, extra
 * elements) and a watcher must still find the note.
 */
import type { PresenceState } from '../types.js';

export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number(ref.slice(1)));
    return ENTITIES[ref] ?? whole;
  });
}

/** A PIDF document for `entity` (a sip: URI) in `state`, carrying `note`. */
export function buildPidf(entity: string, state: PresenceState, note: string): string {
  const basic = state === 'offline' ? 'closed' : 'open';
  const activity =
    state === 'busy' ? '<rpid:activities><rpid:busy/></rpid:activities>' : state === 'away' ? '<rpid:activities><rpid:away/></rpid:activities>' : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ` +
    `xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${escapeXml(entity)}">` +
    `<tuple id="t1"><status><basic>${basic}</basic></status></tuple>` +
    `<dm:person id="p1">${activity}<note>${escapeXml(note)}</note></dm:person>` +
    '</presence>'
  );
}

export interface ParsedPresence {
  readonly state: PresenceState;
  readonly note: string;
}

/** Matches an element with this local name under any namespace prefix; built once per name. */
const elementPattern = (localName: string): RegExp =>
  new RegExp(`<(?:[\\w.-]+:)?${localName}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${localName}\\s*>`);
const emptyOrOpenPattern = (localName: string): RegExp => new RegExp(`<(?:[\\w.-]+:)?${localName}[\\s/>]`);

const BASIC = elementPattern('basic');
const NOTE = elementPattern('note');
const ACTIVITIES = elementPattern('activities');
const BUSY = emptyOrOpenPattern('busy');
const AWAY = emptyOrOpenPattern('away');

/**
 * Presence state and note from a PIDF body. Undefined when the body has no `<basic>` status at
 * all (e.g. an empty NOTIFY for a presentity that never published).
 */
export function parsePidf(body: string): ParsedPresence | undefined {
  const basic = BASIC.exec(body)?.[1]?.trim().toLowerCase();
  if (basic === undefined) return undefined;
  const note = unescapeXml(NOTE.exec(body)?.[1] ?? '');
  if (basic !== 'open') return { state: 'offline', note };
  const activities = ACTIVITIES.exec(body)?.[1];
  if (activities !== undefined) {
    if (BUSY.test(activities)) return { state: 'busy', note };
    if (AWAY.test(activities)) return { state: 'away', note };
  }
  return { state: 'online', note };
}
