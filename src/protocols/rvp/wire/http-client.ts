/**
 * A keep-alive HTTP/1.1 client pool on raw sockets, for RVP methods Node's http client would
 * accept but whose responses we parse with our own codec anyway (one parser, one set of
 * tolerances). Used by the server to relay NOTIFYs to callbacks and peers, and by the agent
 * for all its requests. One request per connection at a time (no pipelining); at most
 * `maxConnectionsPerOrigin` sockets per host:port, further requests wait in order.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { HttpParseError, ResponseParser, keepAlive, serialize, DEFAULT_LIMITS, type HttpResponse } from './http1.js';
import { classifySocketError, socketErrorDetail, type ErrorKind } from '../../errors.js';

/**
 * A kind of the shared taxonomy (socket errors named by its classifier), or `timeout`: no
 * response within the request's time, which the caller names by its operation (`logon-timeout`, …).
 */
export type ClientErrorKind = ErrorKind | 'timeout';

export class ClientError extends Error {
  constructor(
    readonly kind: ClientErrorKind,
    message: string,
    /** The socket error's code (errno, OpenSSL), if a socket error caused it. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

export interface OutgoingRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Buffer | string;
}

export interface ClientResult {
  readonly response: HttpResponse;
  readonly bytesOut: number;
  readonly bytesIn: number;
}

export interface ClientPoolOptions {
  readonly maxConnectionsPerOrigin: number;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Close a pooled connection idle for this long (shorter than servers' idle timeouts). */
  readonly idleTimeoutMs: number;
  /** HTTPS (rvps://): verify the server against `ca` (PEM) unless `rejectUnauthorized` is false. */
  readonly tls?: { readonly ca?: Buffer; readonly rejectUnauthorized: boolean; readonly servername?: string };
}

interface Pending {
  readonly resolve: (result: ClientResult) => void;
  readonly reject: (error: ClientError) => void;
  readonly bytesOut: number;
  readonly timer: NodeJS.Timeout;
}

class PooledConnection {
  readonly parser = new ResponseParser(DEFAULT_LIMITS);
  pending: Pending | undefined;
  connected = false;
  closed = false;

  constructor(
    readonly socket: Socket,
    readonly origin: Origin,
  ) {}
}

interface Waiter {
  readonly request: Buffer;
  readonly resolve: (result: ClientResult) => void;
  readonly reject: (error: ClientError) => void;
  readonly timeoutMs: number;
}

interface Origin {
  readonly host: string;
  readonly port: number;
  readonly idle: PooledConnection[];
  readonly waiters: Waiter[];
  open: number;
}

export class HttpClientPool {
  private readonly origins = new Map<string, Origin>();
  private closed = false;

  constructor(private readonly options: ClientPoolOptions) {}

  request(host: string, port: number, request: OutgoingRequest, timeoutMs = this.options.requestTimeoutMs): Promise<ClientResult> {
    if (this.closed) return Promise.reject(new ClientError('unexpected-close', 'client pool is closed'));
    const bytes = serialize(`${request.method} ${request.target} HTTP/1.1`, request.headers, request.body ?? '');
    const key = `${host}:${port}`;
    let origin = this.origins.get(key);
    if (origin === undefined) {
      origin = { host, port, idle: [], waiters: [], open: 0 };
      this.origins.set(key, origin);
    }
    return new Promise((resolve, reject) => {
      origin.waiters.push({ request: bytes, resolve, reject, timeoutMs });
      this.dispatch(origin);
    });
  }

  close(): void {
    this.closed = true;
    for (const origin of this.origins.values()) {
      for (const waiter of origin.waiters.splice(0)) waiter.reject(new ClientError('unexpected-close', 'client pool closed'));
      for (const connection of origin.idle.splice(0)) connection.socket.destroy();
    }
  }

  private dispatch(origin: Origin): void {
    while (origin.waiters.length > 0) {
      const connection = origin.idle.pop();
      if (connection !== undefined) {
        // Ended by the server or by us a moment ago, its close not yet emitted: never written into.
        if (!connection.socket.writable) {
          this.retire(connection);
          continue;
        }
        this.send(connection, origin.waiters.shift()!);
        continue;
      }
      if (origin.open >= this.options.maxConnectionsPerOrigin) return;
      this.send(this.open(origin), origin.waiters.shift()!);
    }
  }

  private open(origin: Origin): PooledConnection {
    origin.open++;
    const tls = this.options.tls;
    const socket = tls
      ? tlsConnect({ host: origin.host, port: origin.port, ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized, servername: tls.servername })
      : connect({ host: origin.host, port: origin.port, noDelay: true });
    if (tls) socket.setNoDelay(true);
    const connection = new PooledConnection(socket, origin);
    const connectTimer = setTimeout(() => this.fail(connection, new ClientError('connect-timeout', `connect to ${origin.host}:${origin.port} timed out`)), this.options.connectTimeoutMs);
    // Over TLS a connection is usable once the handshake (and verification) is done.
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      connection.connected = true;
      clearTimeout(connectTimer);
    });
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      // ETIMEDOUT on an open connection while a request waits is that request's timeout.
      const kind: ClientErrorKind =
        connection.connected && error.code === 'ETIMEDOUT' && connection.pending !== undefined ? 'timeout'
        : classifySocketError(error, { connecting: !connection.connected });
      this.fail(connection, new ClientError(kind, `${origin.host}:${origin.port}: ${socketErrorDetail(error)}`, error.code));
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      this.fail(connection, new ClientError('unexpected-close', `${origin.host}:${origin.port} closed the connection`));
    });
    // Out of the pool before the socket goes: its 'close' comes a turn of the event loop later,
    // and a request due in the same turn (a user's timer firing with the idle timer) was written
    // into the destroyed socket and failed as `unexpected-close` — the server blamed for our own
    // idle close (one IM in 700 in CI, the first IMs after a 10 s quiet spell).
    socket.on('timeout', () => {
      this.retire(connection);
      socket.destroy();
    });
    // The server closed its side: an idle connection takes no more requests (a pending one fails at the close).
    socket.on('end', () => {
      if (connection.pending === undefined) this.retire(connection);
    });
    return connection;
  }

  private send(connection: PooledConnection, waiter: Waiter): void {
    const timer = setTimeout(() => this.fail(connection, new ClientError('timeout', `no response within ${waiter.timeoutMs} ms`)), waiter.timeoutMs);
    connection.pending = { resolve: waiter.resolve, reject: waiter.reject, bytesOut: waiter.request.length, timer };
    connection.socket.setTimeout(0);
    connection.socket.write(waiter.request);
  }

  private onData(connection: PooledConnection, chunk: Buffer): void {
    connection.parser.push(chunk);
    let response: HttpResponse | undefined;
    try {
      response = connection.parser.next();
    } catch (error) {
      const detail = error instanceof HttpParseError ? error.message : String(error);
      this.fail(connection, new ClientError('protocol-error', `bad response: ${detail}`));
      return;
    }
    if (response === undefined) return;
    const pending = connection.pending;
    if (pending === undefined) {
      this.fail(connection, new ClientError('protocol-error', 'response without a request'));
      return;
    }
    clearTimeout(pending.timer);
    connection.pending = undefined;
    const reusable = keepAlive(response.version, response.headers) && connection.parser.pendingBytes === 0;
    if (reusable && !this.closed) {
      connection.socket.setTimeout(this.idleTimeout(response));
      connection.origin.idle.push(connection);
    } else {
      this.retire(connection);
      connection.socket.destroy();
    }
    pending.resolve({ response, bytesOut: pending.bytesOut, bytesIn: response.wireBytes });
    this.dispatch(connection.origin);
  }

  /**
   * How long to keep an idle connection: our own limit, shortened to a second under the
   * server's announced `Keep-Alive: timeout=N`, so we never write into a connection the
   * server is about to close.
   */
  private idleTimeout(response: HttpResponse): number {
    const announced = /timeout\s*=\s*(\d+)/i.exec(response.headers.map.get('keep-alive') ?? '');
    if (announced === null) return this.options.idleTimeoutMs;
    return Math.max(100, Math.min(this.options.idleTimeoutMs, Number(announced[1]) * 1000 - 1000));
  }

  /** Ends a connection after an error: rejects its request and lets a waiter open a new one. */
  private fail(connection: PooledConnection, error: ClientError): void {
    const pending = connection.pending;
    connection.pending = undefined;
    if (pending !== undefined) clearTimeout(pending.timer);
    this.retire(connection);
    connection.socket.destroy();
    pending?.reject(error);
    this.dispatch(connection.origin);
  }

  private retire(connection: PooledConnection): void {
    if (connection.closed) return;
    connection.closed = true;
    connection.origin.open--;
    const idleAt = connection.origin.idle.indexOf(connection);
    if (idleAt >= 0) connection.origin.idle.splice(idleAt, 1);
  }
}
