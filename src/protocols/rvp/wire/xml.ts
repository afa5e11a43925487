/**
 * A small namespace-aware XML reader for RVP bodies, plus escaping helpers for writers.
 * Parse tolerantly, emit strictly (research/rvp.md §14): prefixes are free, whitespace around
 * text is trimmed by callers, namespace URIs are compared case-insensitively without a trailing
 * slash (the spec's own SUBSCRIPTIONS example writes `http://schemas.Microsoft.com/rvp/acl`).
 * DOCTYPE is refused so entity expansion cannot be abused.
 */

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

export interface XmlElement {
  /** Normalised namespace URI (see `normalizeNs`), '' when none. */
  readonly ns: string;
  readonly local: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: XmlElement[];
  /** Concatenated character data directly inside this element (text and CDATA). */
  text: string;
}

export const NS_DAV = 'dav:';
export const NS_RVP = 'http://schemas.microsoft.com/rvp';
export const NS_ACL = 'http://schemas.microsoft.com/rvp/acl';
/** Our own namespace for the presence note property (not part of RVP). */
export const NS_IMLOAD = 'urn:imload:rvp';

/** Namespace declarations every writer puts on its root element, as real clients do. */
export const ROOT_NS = `xmlns:d="DAV:" xmlns:r="http://schemas.microsoft.com/rvp/" xmlns:a="http://schemas.microsoft.com/rvp/acl/"`;
export const XML_DECL = '<?xml version="1.0"?>';

const MAX_DEPTH = 64;
const NAME = /^[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?$/;

export function normalizeNs(uri: string): string {
  const lower = uri.trim().toLowerCase();
  return lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

interface OpenElement {
  readonly qname: string;
  readonly element: XmlElement;
  readonly scope: Map<string, string>;
}

/** Parses a complete document and returns its root element. Throws XmlError. */
export function parseXml(source: string): XmlElement {
  let i = 0;
  let root: XmlElement | undefined;
  const stack: OpenElement[] = [];
  const rootScope = new Map<string, string>([['xml', 'http://www.w3.org/xml/1998/namespace']]);
  const n = source.length;
  while (i < n) {
    const lt = source.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const text = source.slice(i, textEnd);
      if (stack.length === 0) {
        if (text.trim().length > 0) throw new XmlError('text outside the root element');
      } else {
        stack[stack.length - 1]!.element.text += decodeEntities(text);
      }
    }
    if (lt < 0) break;
    if (source.startsWith('<?', lt)) {
      i = endOf(source, '?>', lt);
    } else if (source.startsWith('<!--', lt)) {
      i = endOf(source, '-->', lt);
    } else if (source.startsWith('<![CDATA[', lt)) {
      if (stack.length === 0) throw new XmlError('CDATA outside the root element');
      const end = source.indexOf(']]>', lt);
      if (end < 0) throw new XmlError('unterminated CDATA section');
      stack[stack.length - 1]!.element.text += source.slice(lt + 9, end);
      i = end + 3;
    } else if (source.startsWith('<!', lt)) {
      throw new XmlError('DOCTYPE and declarations are not accepted');
    } else if (source.startsWith('</', lt)) {
      const gt = source.indexOf('>', lt);
      if (gt < 0) throw new XmlError('unterminated end tag');
      const qname = source.slice(lt + 2, gt).trim();
      const open = stack.pop();
      if (!open || open.qname !== qname) throw new XmlError(`mismatched end tag </${qname}>`);
      i = gt + 1;
    } else {
      if (root !== undefined && stack.length === 0) throw new XmlError('more than one root element');
      const gt = findTagEnd(source, lt);
      const selfClosing = source.charCodeAt(gt - 1) === 0x2f;
      const tag = source.slice(lt + 1, selfClosing ? gt - 1 : gt);
      const parentScope = stack.length > 0 ? stack[stack.length - 1]!.scope : rootScope;
      const { qname, element, scope } = openElement(tag, parentScope);
      if (stack.length > 0) stack[stack.length - 1]!.element.children.push(element);
      else root = element;
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) throw new XmlError('elements nested too deeply');
        stack.push({ qname, element, scope });
      }
      i = gt + 1;
    }
  }
  if (stack.length > 0) throw new XmlError(`unclosed element <${stack[stack.length - 1]!.qname}>`);
  if (root === undefined) throw new XmlError('no root element');
  return root;
}

function endOf(source: string, terminator: string, from: number): number {
  const end = source.indexOf(terminator, from);
  if (end < 0) throw new XmlError(`unterminated markup, expected ${terminator}`);
  return end + terminator.length;
}

/** Index of the `>` closing a start tag, skipping quoted attribute values. */
function findTagEnd(source: string, from: number): number {
  let quote = 0;
  for (let i = from + 1; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) {
      quote = c;
    } else if (c === 0x3e) {
      return i;
    } else if (c === 0x3c) {
      throw new XmlError('"<" inside a start tag');
    }
  }
  throw new XmlError('unterminated start tag');
}

const ATTRIBUTE = /\s*([^\s=]+)\s*=\s*("([^"]*)"|'([^']*)')/y;

function openElement(tag: string, parentScope: Map<string, string>): OpenElement {
  const nameEnd = tag.search(/\s|$/);
  const qname = tag.slice(0, nameEnd);
  if (!NAME.test(qname)) throw new XmlError(`invalid element name "${qname}"`);
  const raw = new Map<string, string>();
  ATTRIBUTE.lastIndex = nameEnd;
  while (ATTRIBUTE.lastIndex < tag.length) {
    if (/^\s*$/.test(tag.slice(ATTRIBUTE.lastIndex))) break;
    const match = ATTRIBUTE.exec(tag);
    if (!match) throw new XmlError(`malformed attributes in <${qname}>`);
    if (raw.has(match[1]!)) throw new XmlError(`duplicate attribute ${match[1]}`);
    raw.set(match[1]!, decodeEntities(match[3] ?? match[4] ?? ''));
  }
  let scope = parentScope;
  const attributes = new Map<string, string>();
  for (const [name, value] of raw) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      if (scope === parentScope) scope = new Map(parentScope);
      scope.set(name === 'xmlns' ? '' : name.slice(6), normalizeNs(value));
    } else {
      attributes.set(name, value);
    }
  }
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const ns = scope.get(prefix);
  if (ns === undefined && prefix !== '') throw new XmlError(`unbound namespace prefix "${prefix}"`);
  const element: XmlElement = { ns: ns ?? '', local: qname.slice(colon + 1), attributes, children: [], text: '' };
  return { qname, element, scope };
}

function decodeEntities(text: string): string {
  if (text.indexOf('&') < 0) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);?/g, (whole, entity: string) => {
    if (!whole.endsWith(';')) throw new XmlError('unterminated entity reference');
    switch (entity) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
    }
    const code = entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : entity.startsWith('#') ? parseInt(entity.slice(1), 10) : NaN;
    if (!Number.isFinite(code) || code > 0x10ffff) throw new XmlError(`unknown entity &${entity};`);
    return String.fromCodePoint(code);
  });
}

/** First child element with this namespace and local name. */
export function child(element: XmlElement | undefined, ns: string, local: string): XmlElement | undefined {
  if (element === undefined) return undefined;
  for (const c of element.children) if (c.local === local && c.ns === ns) return c;
  return undefined;
}

/** Follows a path of [ns, local] steps from `element`. */
export function path(element: XmlElement | undefined, ...steps: readonly (readonly [string, string])[]): XmlElement | undefined {
  let current = element;
  for (const [ns, local] of steps) current = child(current, ns, local);
  return current;
}

export function is(element: XmlElement | undefined, ns: string, local: string): boolean {
  return element !== undefined && element.local === local && element.ns === ns;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&apos;'));
}

/** Wraps text in CDATA, splitting any "]]>" so the section cannot be closed early. */
export function cdata(text: string): string {
  return `<![CDATA[${text.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}
