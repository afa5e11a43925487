/**
 * A minimal incremental XML parser for an XMPP stream (RFC 6120 § 4, § 11): the stream header
 * `<stream:stream ...>` is reported on its own, then each top-level child (a stanza, features,
 * a SASL or TLS element) as a complete element tree, then the stream's end. XMPP's restricted
 * XML (§ 11.1: no comments, processing instructions, DTDs or external entities) keeps it small;
 * the XML declaration is skipped. Written here rather than taken from npm (docs/decisions.md):
 * a stanza tree is all an agent needs, and per-VU state must stay a few hundred bytes.
 */

export interface XmlElement {
  /** Qualified name as written, e.g. `message`, `stream:features`. */
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: (XmlElement | string)[];
}

export interface XmlStreamHandler {
  streamStart(attrs: Record<string, string>): void;
  element(element: XmlElement): void;
  streamEnd(): void;
  error(message: string): void;
}

/** The local part of a qualified name: `stream:features` → `features`. */
export function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** The first child element with this local name (and namespace, when given). */
export function child(element: XmlElement, name: string, xmlns?: string): XmlElement | undefined {
  for (const c of element.children) {
    if (typeof c !== 'string' && localName(c.name) === name && (xmlns === undefined || c.attrs.xmlns === xmlns)) return c;
  }
  return undefined;
}

export function children(element: XmlElement, name?: string): XmlElement[] {
  const found: XmlElement[] = [];
  for (const c of element.children) if (typeof c !== 'string' && (name === undefined || localName(c.name) === name)) found.push(c);
  return found;
}

/** The concatenated text children of an element. */
export function text(element: XmlElement | undefined): string {
  if (!element) return '';
  let out = '';
  for (const c of element.children) if (typeof c === 'string') out += c;
  return out;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text or an attribute value (either quote style). */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Resolves the five predefined entities and character references; anything else is an error. */
export function unescapeXml(value: string): string {
  if (value.indexOf('&') < 0) return value;
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (match, ref: string | undefined) => {
    if (ref === undefined) throw new Error('a bare & in text');
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff)) throw new Error(`bad character reference ${match}`);
      return String.fromCodePoint(code);
    }
    const named = NAMED[ref];
    if (named === undefined) throw new Error(`undefined entity ${match}`);
    return named;
  });
}

/** Serialises an element tree (tests, and stanzas built as trees). */
export function serialize(element: XmlElement): string {
  let out = `<${element.name}`;
  for (const [k, v] of Object.entries(element.attrs)) out += ` ${k}="${escapeXml(v)}"`;
  if (element.children.length === 0) return `${out}/>`;
  out += '>';
  for (const c of element.children) out += typeof c === 'string' ? escapeXml(c) : serialize(c);
  return `${out}</${element.name}>`;
}

const NAME = /^[^\s/>=<"'!?]+/;

/**
 * Feeds decoded text in any chunking; calls the handler as soon as a stanza is complete.
 * After an error the parser stops (the stream is broken: RFC 6120 § 4.9.3.1 not-well-formed).
 */
export class XmlStreamParser {
  private buffer = '';
  /** Open elements below the stream root; empty between stanzas. */
  private readonly stack: { name: string; attrs: Record<string, string>; children: (XmlElement | string)[] }[] = [];
  private started = false;
  /** Characters of the stanza being built, so far. */
  private stanzaChars = 0;
  private failed = false;
  private ended = false;

  constructor(
    private readonly handler: XmlStreamHandler,
    /** Largest stanza accepted (characters), so a hostile server cannot grow memory without bound. */
    private readonly maxStanza = 1 << 20,
  ) {}

  push(chunk: string): void {
    if (this.failed || this.ended) return;
    this.buffer += chunk;
    try {
      this.parse();
    } catch (error) {
      this.fail((error as Error).message);
    }
  }

  private fail(message: string): void {
    this.failed = true;
    this.buffer = '';
    this.handler.error(message);
  }

  private parse(): void {
    let pos = 0;
    const buf = this.buffer;
    while (pos < buf.length && !this.failed && !this.ended) {
      const lt = buf.indexOf('<', pos);
      // Text is taken only once the next tag begins: an entity may be split between chunks.
      if (lt < 0) break;
      if (lt > pos) this.addText(buf.slice(pos, lt));
      const end = tagEnd(buf, lt);
      if (end < 0) {
        pos = lt;
        break; // the tag is not complete yet
      }
      this.tag(buf.slice(lt, end + 1));
      this.stanzaChars = this.stack.length === 0 ? 0 : this.stanzaChars + (end + 1 - pos);
      pos = end + 1;
    }
    this.buffer = buf.slice(pos);
    if (this.buffer.length + this.stanzaChars > this.maxStanza) this.fail(`a stanza longer than ${this.maxStanza} characters`);
  }

  private addText(raw: string): void {
    if (raw.length === 0) return;
    const top = this.stack[this.stack.length - 1];
    // Whitespace between stanzas is a keep-alive (RFC 6120 § 4.6.1); other text there is not XMPP.
    if (!top) {
      if (/\S/.test(raw)) throw new Error(`text outside a stanza: ${raw.slice(0, 40)}`);
      return;
    }
    const value = unescapeXml(raw);
    const last = top.children[top.children.length - 1];
    if (typeof last === 'string') top.children[top.children.length - 1] = last + value;
    else top.children.push(value);
  }

  private tag(raw: string): void {
    if (raw.startsWith('<?')) {
      if (!raw.endsWith('?>')) throw new Error('a malformed processing instruction');
      if (this.started || !/^<\?xml\s/.test(raw)) throw new Error('a processing instruction (not allowed in XMPP)');
      return;
    }
    if (raw.startsWith('<!')) throw new Error('a comment, CDATA or DTD (not allowed in XMPP)');
    if (raw[1] === '/') {
      const name = raw.slice(2, -1).trim();
      const open = this.stack.pop();
      if (!open) {
        if (this.started && localName(name) === 'stream') {
          this.ended = true;
          this.handler.streamEnd();
          return;
        }
        throw new Error(`an unexpected closing tag </${name}>`);
      }
      if (open.name !== name) throw new Error(`</${name}> closes <${open.name}>`);
      this.closed(open);
      return;
    }
    const selfClosing = raw.endsWith('/>');
    const inner = raw.slice(1, selfClosing ? -2 : -1);
    const nameMatch = NAME.exec(inner);
    if (!nameMatch) throw new Error(`a tag without a name: ${raw.slice(0, 40)}`);
    const name = nameMatch[0];
    const attrs = parseAttributes(inner.slice(name.length));
    if (!this.started) {
      if (localName(name) !== 'stream' || selfClosing) throw new Error(`expected <stream:stream>, got <${name}>`);
      this.started = true;
      this.handler.streamStart(attrs);
      return;
    }
    const element = { name, attrs, children: [] };
    if (selfClosing) this.closed(element);
    else this.stack.push(element);
  }

  private closed(element: XmlElement): void {
    const parent = this.stack[this.stack.length - 1];
    if (parent) parent.children.push(element);
    else this.handler.element(element);
  }
}

/** Index of the `>` ending the tag that starts at `start`, skipping quoted attribute values; -1 if incomplete. */
function tagEnd(buf: string, start: number): number {
  let quote = '';
  for (let i = start + 1; i < buf.length; i++) {
    const c = buf[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i;
    else if (c === '<') throw new Error('< inside a tag');
  }
  return -1;
}

const ATTRIBUTE = /\s*([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;

function parseAttributes(raw: string): Record<string, string> {
  // No prototype: an attribute named `constructor` or `__proto__` is an attribute like any other.
  const attrs = Object.create(null) as Record<string, string>;
  let pos = 0;
  while (pos < raw.length) {
    if (/^\s*$/.test(raw.slice(pos))) break;
    ATTRIBUTE.lastIndex = pos;
    const m = ATTRIBUTE.exec(raw);
    if (!m) throw new Error(`a malformed attribute: ${raw.slice(pos, pos + 40).trim()}`);
    const name = m[1]!;
    if (Object.hasOwn(attrs, name)) throw new Error(`attribute ${name} twice`);
    const value = m[2] ?? m[3] ?? '';
    if (value.indexOf('<') >= 0) throw new Error(`< in the value of ${name}`);
    attrs[name] = unescapeXml(value);
    pos = ATTRIBUTE.lastIndex;
  }
  return attrs;
}
