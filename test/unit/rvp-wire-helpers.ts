/**
 * Raw-socket tools for RVP conformance tests. Deliberately independent of the server's and the
 * agent's codecs: requests are written as text, responses read with a minimal reader here.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';

export interface WireResponse {
  readonly status: number;
  readonly reason: string;
  /** Lower-cased names; repeated headers keep every value. */
  readonly headers: Map<string, string[]>;
  readonly body: string;
  header(name: string): string | undefined;
}

export interface WireRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: Map<string, string>;
  readonly body: string;
}

/** Builds a request; CRLF line ends unless `lf` is set; always a Content-Length. */
export function request(method: string, target: string, headers: Record<string, string> = {}, body = '', lf = false): string {
  const eol = lf ? '\n' : '\r\n';
  let text = `${method} ${target} HTTP/1.1${eol}`;
  const all: Record<string, string> = { Host: 'im.example.com', 'RVP-Notifications-Version': '0.2', ...headers };
  for (const [name, value] of Object.entries(all)) text += `${name}: ${value}${eol}`;
  return `${text}Content-Length: ${Buffer.byteLength(body)}${eol}${eol}${body}`;
}

/** Splits complete HTTP messages off a growing buffer. */
class MessageReader {
  private buffer = '';
  constructor(private readonly withStatusLine: boolean) {}

  push(chunk: string): void {
    this.buffer += chunk;
  }

  next(): { start: string[]; headers: Map<string, string[]>; body: string } | undefined {
    const end = this.buffer.indexOf('\r\n\r\n');
    const lfEnd = this.buffer.indexOf('\n\n');
    const headEnd = end >= 0 && (lfEnd < 0 || end < lfEnd) ? end + 4 : lfEnd >= 0 ? lfEnd + 2 : -1;
    if (headEnd < 0) return undefined;
    const lines = this.buffer.slice(0, headEnd).split(/\r?\n/).filter((l) => l.length > 0);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    const length = Number(headers.get('content-length')?.[0] ?? '0');
    const bodyBytes = Buffer.from(this.buffer.slice(headEnd), 'latin1');
    if (bodyBytes.length < length) return undefined;
    const body = bodyBytes.subarray(0, length).toString('utf8');
    this.buffer = bodyBytes.subarray(length).toString('latin1');
    const first = lines[0]!;
    const start = this.withStatusLine ? [first.slice(0, 8), first.slice(9, 12), first.slice(13)] : first.split(' ');
    return { start, headers, body };
  }
}

/** One client connection; responses are read in order. */
export class WireClient {
  private readonly socket: Socket;
  private readonly reader = new MessageReader(true);
  private readonly waiting: ((response: WireResponse) => void)[] = [];
  private readonly ready: WireResponse[] = [];
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => {
      this.reader.push(chunk);
      for (let message = this.reader.next(); message !== undefined; message = this.reader.next()) {
        const response = toResponse(message);
        const waiter = this.waiting.shift();
        if (waiter) waiter(response);
        else this.ready.push(response);
      }
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  write(raw: string | Buffer): void {
    this.socket.write(raw);
  }

  next(timeoutMs = 5000): Promise<WireResponse> {
    const ready = this.ready.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response in time')), timeoutMs);
      this.waiting.push((response) => {
        clearTimeout(timer);
        resolve(response);
      });
    });
  }

  async send(raw: string | Buffer): Promise<WireResponse> {
    this.write(raw);
    return this.next();
  }

  close(): void {
    this.socket.destroy();
  }
}

function toResponse(message: { start: string[]; headers: Map<string, string[]>; body: string }): WireResponse {
  return {
    status: Number(message.start[1]),
    reason: message.start[2] ?? '',
    headers: message.headers,
    body: message.body,
    header: (name) => message.headers.get(name.toLowerCase())?.[0],
  };
}

/** One request on a fresh connection. */
export async function exchange(port: number, raw: string | Buffer): Promise<WireResponse> {
  const client = new WireClient(port);
  try {
    return await client.send(raw);
  } finally {
    client.close();
  }
}

/**
 * A raw callback listener standing in for a client's local node: records every request and
 * answers with `answer` (status, or 'hold' to never answer).
 */
export class CallbackListener {
  readonly received: WireRequest[] = [];
  answer: number | 'hold' = 200;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly watchers: { test: (r: WireRequest) => boolean; resolve: (r: WireRequest) => void }[] = [];
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.setEncoding('latin1');
      const reader = new MessageReader(false);
      socket.on('error', () => {});
      socket.on('data', (chunk: string) => {
        reader.push(chunk);
        for (let m = reader.next(); m !== undefined; m = reader.next()) {
          const req: WireRequest = {
            method: m.start[0]!,
            target: m.start[1]!,
            headers: new Map([...m.headers].map(([k, v]) => [k, v[0]!])),
            body: m.body,
          };
          this.received.push(req);
          for (const w of this.watchers.filter((w) => w.test(req))) {
            this.watchers.splice(this.watchers.indexOf(w), 1);
            w.resolve(req);
          }
          if (this.answer !== 'hold') {
            socket.write(`HTTP/1.1 ${this.answer} OK\r\nRVP-Notifications-Version: 0.2\r\nContent-Length: 0\r\n\r\n`);
          }
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    return this;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves with the first request (already received or future) that matches. */
  waitFor(test: (r: WireRequest) => boolean, timeoutMs = 5000): Promise<WireRequest> {
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('expected callback request never came')), timeoutMs);
      this.watchers.push({
        test,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** An RFC 2617 Digest Authorization value (qop=auth) answering a WWW-Authenticate challenge. */
export function digestAuthorization(challenge: string, user: string, password: string, method: string, uri: string, nc = 1): string {
  const param = (name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(challenge)?.[1] ?? '';
  const realm = param('realm');
  const nonce = param('nonce');
  const cnonce = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const ncText = nc.toString(16).padStart(8, '0');
  const response = md5(`${md5(`${user}:${realm}:${password}`)}:${nonce}:${ncText}:${cnonce}:auth:${md5(`${method}:${uri}`)}`);
  return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", algorithm=MD5, qop=auth, nc=${ncText}, cnonce="${cnonce}", response="${response}"`;
}

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export const NS = `xmlns:d="DAV:" xmlns:r="http://schemas.microsoft.com/rvp/" xmlns:a="http://schemas.microsoft.com/rvp/acl/"`;

export function proppatchState(state: string, timeout: number, note?: string): string {
  const noteXml = note === undefined ? '' : `<n:note xmlns:n="urn:imload:rvp">${note}</n:note>`;
  return (
    `<?xml version="1.0"?><d:propertyupdate ${NS}><d:set><d:prop><r:state><r:leased-value><r:value><r:${state}/></r:value>` +
    `<r:default-value><r:offline/></r:default-value><d:timeout>${timeout}</d:timeout></r:leased-value></r:state>${noteXml}</d:prop></d:set></d:propertyupdate>`
  );
}

export function imBody(fromUrl: string, toUrl: string, text: string): string {
  const mime = `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nSession-Id: {11111111-2222-3333-4444-555555555555}\r\n\r\n${text}`;
  return (
    `<?xml version="1.0"?><r:notification ${NS}><r:message><r:notification-from><r:contact><d:href>${fromUrl}</d:href></r:contact></r:notification-from>` +
    `<r:notification-to><r:contact><d:href>${toUrl}</d:href></r:contact></r:notification-to><r:msgbody><r:mime-data><![CDATA[${mime}]]></r:mime-data></r:msgbody></r:message></r:notification>`
  );
}

/** Polls `check` until it returns true; for state that has no event to wait on. Bounded. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error('condition not met in time');
}
