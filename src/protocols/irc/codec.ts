/**
 * IRC line codec (RFC 1459/2812 with IRCv3 message tags). Parsing never throws: a line that is
 * not IRC yields undefined and the caller counts a protocol error.
 */

export interface IrcMessage {
  readonly tags: Readonly<Record<string, string>> | undefined;
  /** `nick!user@host` or a server name; empty when the line has no prefix. */
  readonly prefix: string;
  /** Upper-case command or three-digit numeric. */
  readonly command: string;
  readonly params: readonly string[];
}

/** Servers may send up to 8191 bytes of tags plus 512 of message; anything longer is hostile. */
export const MAX_LINE_LENGTH = 8191 + 512;

const TAG_ESCAPES: Record<string, string> = { ':': ';', s: ' ', '\\': '\\', r: '\r', n: '\n' };

function unescapeTagValue(value: string): string {
  if (!value.includes('\\')) return value;
  return value.replace(/\\(.?)/g, (_, c: string) => TAG_ESCAPES[c] ?? c);
}

export function parseLine(raw: string): IrcMessage | undefined {
  let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line.length === 0 || line.length > MAX_LINE_LENGTH) return undefined;
  let tags: Record<string, string> | undefined;
  if (line.charCodeAt(0) === 64 /* @ */) {
    const space = line.indexOf(' ');
    if (space < 2) return undefined;
    tags = {};
    for (const part of line.slice(1, space).split(';')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      if (eq === -1) tags[part] = '';
      else tags[part.slice(0, eq)] = unescapeTagValue(part.slice(eq + 1));
    }
    line = line.slice(space + 1).trimStart();
  }
  let prefix = '';
  if (line.charCodeAt(0) === 58 /* : */) {
    const space = line.indexOf(' ');
    if (space < 2) return undefined;
    prefix = line.slice(1, space);
    line = line.slice(space + 1).trimStart();
  }
  const params: string[] = [];
  let command = '';
  let position = 0;
  while (position < line.length) {
    if (line.charCodeAt(position) === 58 /* : */ && command !== '') {
      params.push(line.slice(position + 1));
      break;
    }
    let space = line.indexOf(' ', position);
    if (space === -1) space = line.length;
    const word = line.slice(position, space);
    if (command === '') command = word;
    else params.push(word);
    position = space + 1;
    while (line.charCodeAt(position) === 32) position++;
  }
  if (!/^([A-Za-z]+|\d{3})$/.test(command)) return undefined;
  return { tags, prefix, command: command.toUpperCase(), params };
}

/** The nick in a `nick!user@host` prefix. */
export function nickOf(prefix: string): string {
  const bang = prefix.indexOf('!');
  return bang === -1 ? prefix : prefix.slice(0, bang);
}

/** Characters that would end or corrupt a line are never sent. */
export function sanitize(text: string): string {
  return /[\r\n\0]/.test(text) ? text.replace(/[\r\n\0]/g, ' ') : text;
}

/** Splits a byte stream into lines; bounded, so a server that never sends a newline cannot grow it. */
export class LineBuffer {
  private pending = '';

  /** Returns complete lines; `overflow` is set when a line exceeded the maximum and was dropped. */
  push(chunk: string, onLine: (line: string) => void): boolean {
    let text = this.pending + chunk;
    let start = 0;
    let overflow = false;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      if (newline - start > MAX_LINE_LENGTH) overflow = true;
      else onLine(text.slice(start, newline));
      start = newline + 1;
    }
    text = start === 0 ? text : text.slice(start);
    if (text.length > MAX_LINE_LENGTH) {
      overflow = true;
      text = '';
    }
    this.pending = text;
    return overflow;
  }
}
