/**
 * The agent's one shared callback listener: every user's login SUBSCRIBE names
 * `http://<host>:<port>/vu/<index>` as Call-Back, so server NOTIFYs for all users arrive on
 * one port and are routed by path (research/rvp.md §16.3). Parsed with our own HTTP codec,
 * since NOTIFY is not a method every HTTP stack accepts; keep-alive honoured (§2).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { HttpParseError, REASONS, RequestParser, keepAlive, serialize, type HttpRequest } from './wire/http1.js';

/** Handles one NOTIFY for a user; returns the status to answer. */
export type CallbackHandler = (request: HttpRequest, receivedAt: number) => number;

export interface CallbackRoute {
  readonly handle: CallbackHandler;
  /** Charged with the bytes of requests on this route. */
  bytes(inBytes: number, outBytes: number): void;
}

const LIMITS = { maxHeadBytes: 16 * 1024, maxBodyBytes: 256 * 1024 };
const PREFIX = '/vu/';
/** A NOTIFY must be complete this long after its first byte (a trickling peer is cut, 408). */
const REQUEST_DEADLINE_MS = 30_000;

export class CallbackListener {
  private readonly routes = new Map<number, CallbackRoute>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private baseUrl = '';

  constructor(private readonly requestDeadlineMs = REQUEST_DEADLINE_MS) {}

  async start(host: string, port: number): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  }

  /** The Call-Back URL for one user. */
  urlFor(index: number): string {
    return `${this.baseUrl}${PREFIX}${index}`;
  }

  register(index: number, route: CallbackRoute): void {
    this.routes.set(index, route);
  }

  unregister(index: number): void {
    this.routes.delete(index);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const socket of this.sockets) socket.destroy();
      if (this.server === undefined) return resolve();
      this.server.close(() => resolve());
    });
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(120_000, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.sockets.delete(socket));
    const parser = new RequestParser(LIMITS);
    let closing = false;
    let deadline: NodeJS.Timeout | undefined;
    const refuse = (status: number) => {
      closing = true;
      clearTimeout(deadline);
      this.answer(socket, status, '0.2', true);
    };
    socket.once('close', () => clearTimeout(deadline));
    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      parser.push(chunk);
      for (;;) {
        let request: HttpRequest | undefined;
        try {
          request = parser.next();
        } catch (error) {
          if (!(error instanceof HttpParseError)) throw error;
          return refuse(error.status);
        }
        if (request === undefined) break;
        clearTimeout(deadline);
        deadline = undefined;
        this.dispatch(socket, request);
      }
      // Part of a request is waiting: it must complete in time, however slowly bytes arrive.
      if (parser.pendingBytes > 0 && deadline === undefined) deadline = setTimeout(() => refuse(408), this.requestDeadlineMs);
    });
  }

  private dispatch(socket: Socket, request: HttpRequest): void {
    const receivedAt = performance.timeOrigin + performance.now();
    const version = request.headers.map.get('rvp-notifications-version') ?? '0.2';
    const close = !keepAlive(request.version, request.headers);
    const route = this.route(request.target);
    if (route === undefined || request.method !== 'NOTIFY') {
      // A late NOTIFY for a user that already logged off, or a stray request.
      this.answer(socket, request.method === 'NOTIFY' ? 404 : 405, version, close);
      return;
    }
    let status: number;
    try {
      status = route.handle(request, receivedAt);
    } catch {
      // A failing event sink must not take the shared listener down for every other user.
      status = 500;
    }
    route.bytes(request.wireBytes, this.answer(socket, status, version, close));
  }

  private route(target: string): CallbackRoute | undefined {
    const path = target.replace(/^https?:\/\/[^/]*/i, '');
    if (!path.startsWith(PREFIX)) return undefined;
    const index = Number(path.slice(PREFIX.length));
    return Number.isInteger(index) ? this.routes.get(index) : undefined;
  }

  /** Writes a bodiless answer; returns its size in bytes. */
  private answer(socket: Socket, status: number, version: string, close: boolean): number {
    const headers: [string, string][] = [['RVP-Notifications-Version', version]];
    if (close) headers.push(['Connection', 'close']);
    const bytes = serialize(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}`, headers, '');
    if (!socket.destroyed) socket.write(bytes);
    if (close) socket.end();
    return bytes.length;
  }
}
