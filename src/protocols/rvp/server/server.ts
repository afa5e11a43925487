/**
 * The RVP server's network layer and entry point. Each connection is parsed by our own
 * HTTP/1.1 codec (http1.ts), one request at a time, in order (keep-alive, no pipelined
 * overtaking). A bounded inbound queue answers 503 beyond `maxInbound` requests in progress.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Authenticator } from '../wire/auth.js';
import { ServerContext, rvpVersion, type Reply } from './context.js';
import { ConfigError, UserDirectory, resolvePassword, type HomeMap } from './directory.js';
import { createDispatcher, isStatsRequest, STATS_PATH, type Dispatcher } from './dispatch.js';
import { HttpParseError, REASONS, RequestParser, keepAlive, serialize, type HttpRequest } from '../wire/http1.js';
import { HttpClientPool } from '../wire/http-client.js';
import { fanOutPresence } from './methods-notify.js';
import { currentPropsXml } from './methods-props.js';
import { withDefaults, type ResolvedOptions, type RvpServerOptions } from './options.js';
import { ServerStats, type StatsSnapshot } from './stats.js';
import { PresenceStore } from './store.js';

export interface RvpServerHandle {
  readonly port: number;
  readonly host: string;
  readonly url: string;
  stats(): StatsSnapshot;
  close(): Promise<void>;
}

export async function runRvpServer(input: RvpServerOptions): Promise<RvpServerHandle> {
  const options = withDefaults(input);
  if (options.role === 'router' && options.homes === undefined) throw new ConfigError('a router needs a home map (--home)');
  const directory = UserDirectory.load(options.users);
  const auth = options.auth.length === 0 || options.role === 'router'
    ? undefined
    : new Authenticator(
        { schemes: options.auth, realm: options.domain, password: requirePassword(input), nonceLifetimeSeconds: 3600 },
        directory,
      );
  const stats = new ServerStats();
  const relay = new HttpClientPool({
    maxConnectionsPerOrigin: options.relayConnections,
    connectTimeoutMs: 5000,
    requestTimeoutMs: options.relayTimeoutMs,
    idleTimeoutMs: Math.min(30_000, options.idleTimeoutMs),
  });
  // Lease expiries found by the sweep are told to watchers like any other state change.
  const store = new PresenceStore(options.secondMs, (node) => fanOutPresence(ctx, node, currentPropsXml(node), Date.now()));
  const ctx = new ServerContext(options, directory, store, stats, relay);
  const snapshot = () => stats.snapshot(options.role, options.domain, store.online, store.subscriptions);
  const dispatcher = createDispatcher(ctx, auth, () => (options.role === 'router' ? routerSnapshot(ctx, snapshot()) : Promise.resolve(snapshot())));

  const sockets = new Set<Socket>();
  const perAddress = new Map<string, number>();
  const accept = (socket: Socket) => {
    sockets.add(socket);
    stats.connections++;
    const address = socket.remoteAddress ?? '';
    const held = (perAddress.get(address) ?? 0) + 1;
    perAddress.set(address, held);
    socket.once('close', () => {
      sockets.delete(socket);
      stats.connections--;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left === 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
    if (options.maxConnectionsPerAddress > 0 && held > options.maxConnectionsPerAddress) {
      refuseConnection(socket, stats);
      return;
    }
    serveConnection(socket, options, dispatcher, stats);
  };
  // HTTPS: the same codec on the decrypted stream (a TLSSocket is a Socket).
  const server: Server = options.tls
    ? createTlsServer({ cert: readFileSync(options.tls.certificateFile), key: readFileSync(options.tls.privateKeyFile) }, accept)
    : createServer(accept);
  if (options.tls) server.on('tlsClientError', () => stats.errors++);
  await listen(server, options.host, options.port);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const scheme = options.tls ? 'https' : 'http';
  ctx.selfUrl = input.selfUrl ?? `${scheme}://${options.host}:${port}`;

  const ticker = setInterval(() => {
    const now = Date.now();
    store.sweep(now);
    stats.tick(now, store.online, store.subscriptions);
  }, Math.min(options.secondMs, 1000));
  ticker.unref();
  options.log(`rvp ${options.role} for ${options.domain} on ${options.host}:${port} (${directory.aliases.length} users, auth ${auth ? options.auth.join('+') : 'off'}${options.tls ? ', https' : ''})`);

  return {
    port,
    host: options.host,
    url: `${scheme}://${options.host}:${port}`,
    stats: snapshot,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(ticker);
        relay.close();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function requirePassword(input: RvpServerOptions): string {
  const password = resolvePassword(input.password);
  if (password === undefined) throw new ConfigError('authentication is on: give a password source (--password-env or --password-file) or --no-auth');
  return password;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A router knows no presence; it sums its home servers' online counts for cross-checks. */
async function routerSnapshot(ctx: ServerContext, own: StatsSnapshot): Promise<StatsSnapshot> {
  const homes = ctx.options.homes;
  const urls = homes === undefined ? [] : homeUrls(homes);
  let online = 0;
  for (const url of new Set(urls)) {
    const target = new URL(url);
    try {
      const { response } = await ctx.relay.request(target.hostname, Number(target.port || 80), {
        method: 'GET',
        target: STATS_PATH,
        headers: [['Host', target.host]],
      });
      online += (JSON.parse(response.body.toString('utf8')) as { online: number }).online;
    } catch {
      ctx.stats.errors++;
    }
  }
  return { ...own, online };
}

function homeUrls(homes: HomeMap): readonly string[] {
  if (homes.kind === 'hash') return homes.urls;
  return homes.kind === 'residues' ? homes.homes.map((h) => h.url) : homes.ranges.map((r) => r.url);
}

/** Over the per-address limit: say so in HTTP (503, closed) without reading a request. */
function refuseConnection(socket: Socket, stats: ServerStats): void {
  stats.rejected503++;
  socket.on('error', () => socket.destroy());
  const body = 'too many connections from this address';
  socket.end(serialize('HTTP/1.1 503 Service Unavailable', [['RVP-Notifications-Version', '0.2'], ['Connection', 'close'], ['Content-Type', 'text/plain']], body));
  // Whatever the client sends meanwhile is read and dropped (closing over unread bytes would
  // reset the connection before the 503 arrives); a client that never closes is cut after 5 s.
  socket.resume();
  socket.setTimeout(5000, () => socket.destroy());
}

/**
 * Serves one connection: parse, dispatch one request at a time, answer in order. One request per
 * connection is in progress at any time (pipelined ones wait in the parser, bounded in bytes).
 */
function serveConnection(socket: Socket, options: ResolvedOptions, dispatcher: Dispatcher, stats: ServerStats): void {
  const parser = new RequestParser({ maxHeadBytes: options.maxHeadBytes, maxBodyBytes: options.maxBodyBytes });
  let busy = false;
  let closing = false;
  let slowRequestTimer: NodeJS.Timeout | undefined;
  socket.setNoDelay(true);
  socket.setTimeout(options.idleTimeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());

  const send = (reply: Reply, version: string, close: boolean) => {
    if (socket.destroyed) return;
    const headers: [string, string][] = [['RVP-Notifications-Version', version]];
    for (const header of reply.headers ?? []) headers.push([header[0], header[1]]);
    if (close) headers.push(['Connection', 'close']);
    const body = reply.body ?? '';
    if (typeof body === 'string' && body.length > 0 && !headers.some(([name]) => name === 'Content-Type')) {
      headers.push(['Content-Type', 'text/plain']);
    }
    const reason = reply.reason ?? REASONS[reply.status] ?? 'Unknown';
    socket.write(serialize(`HTTP/1.1 ${reply.status} ${reason}`, headers, body));
    if (close) socket.end();
  };

  const failParse = (error: HttpParseError) => {
    stats.errors++;
    closing = true;
    clearTimeout(slowRequestTimer);
    send({ status: error.status, body: error.message }, '0.2', true);
  };

  const pump = () => {
    while (!busy && !closing) {
      let request: HttpRequest | undefined;
      try {
        request = parser.next();
      } catch (error) {
        if (error instanceof HttpParseError) return failParse(error);
        throw error;
      }
      if (request === undefined) break;
      clearTimeout(slowRequestTimer);
      slowRequestTimer = undefined;
      handle(request);
    }
    // Bytes of an unfinished request are waiting: it must complete in time (slowloris guard).
    if (!busy && !closing && parser.pendingBytes > 0 && slowRequestTimer === undefined) {
      slowRequestTimer = setTimeout(() => {
        stats.errors++;
        closing = true;
        send({ status: 408, body: 'request not completed in time' }, '0.2', true);
      }, options.requestTimeoutMs);
    }
  };

  const handle = (request: HttpRequest) => {
    stats.requests++;
    const version = rvpVersion(request);
    const close = !keepAlive(request.version, request.headers);
    // The monitoring endpoint neither counts against nor is refused by the inbound queue.
    const queued = !isStatsRequest(request);
    if (queued && stats.queueDepth >= options.maxInbound) {
      stats.rejected503++;
      send({ status: 503, body: 'inbound queue full' }, version, close);
      if (close) closing = true;
      return;
    }
    busy = true;
    if (queued) stats.queueDepth++;
    socket.setTimeout(0);
    const finish = (reply: Reply) => {
      if (queued) stats.queueDepth--;
      busy = false;
      if (reply.status >= 500) stats.errors++;
      if (close) closing = true;
      send(reply, version, close);
      socket.setTimeout(options.idleTimeoutMs);
      pump();
      if (!busy && socket.isPaused()) socket.resume();
    };
    let result: Reply | Promise<Reply>;
    try {
      result = dispatcher.dispatch(request, socket.remoteAddress ?? '');
    } catch (error) {
      options.log(`internal error on ${request.method}: ${(error as Error).message}`);
      finish({ status: 500, body: 'internal error' });
      return;
    }
    if (result instanceof Promise) {
      result.then(finish, (error: Error) => {
        options.log(`internal error on ${request.method}: ${error.message}`);
        finish({ status: 500, body: 'internal error' });
      });
    } else {
      finish(result);
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (closing) return;
    parser.push(chunk);
    // While a request is being handled further bytes only queue in the parser; stop reading
    // once more than one maximal request is waiting so a pipelining client cannot balloon memory.
    if (busy && parser.pendingBytes > options.maxHeadBytes + options.maxBodyBytes) socket.pause();
    pump();
  });
  socket.on('close', () => clearTimeout(slowRequestTimer));
}
