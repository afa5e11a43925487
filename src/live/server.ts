/**
 * The live page's HTTP server (node:http): `GET /` serves the page, `GET /events` a stream of
 * server-sent events. Listens on loopback unless the user allows another host, like targets.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopback } from '../scenarios/target.js';

export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';

export class DashboardAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DashboardAddressError';
  }
}

export interface ListenAddress {
  readonly host: string;
  /** 0: a free port, chosen by the system. */
  readonly port: number;
}

/**
 * `--dashboard [host:port]`: `true` (no value) or '' is 127.0.0.1 on a free port; `host:port`,
 * `:port`, `port` or `[::1]:port` otherwise. A host that is not loopback is refused unless
 * `allowRemote` (the page shows the run's target and scenario to whoever can reach it).
 */
export function parseDashboardAddress(value: string | boolean, allowRemote = false): ListenAddress {
  const text = typeof value === 'string' ? value.trim() : '';
  let host = DEFAULT_DASHBOARD_HOST;
  let portText = '0';
  if (text !== '') {
    const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(text);
    if (bracketed) {
      host = bracketed[1]!;
      portText = bracketed[2] || '0';
    } else if (/^\d+$/.test(text)) portText = text;
    else {
      const colon = text.lastIndexOf(':');
      if (colon < 0) host = text;
      else {
        host = text.slice(0, colon) || DEFAULT_DASHBOARD_HOST;
        portText = text.slice(colon + 1) || '0';
      }
    }
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new DashboardAddressError(`--dashboard: "${text}" is not host:port (a port from 0 to 65535)`);
  if (!isLoopback(host) && !allowRemote) {
    throw new DashboardAddressError(`--dashboard: ${host} is not on loopback: pass --allow-remote to serve the live page to other hosts`);
  }
  return { host, port };
}

/** One server-sent event as framed on the wire: `event:` and one `data:` line per line of the JSON. */
export function frameEvent(event: string, data: unknown): string {
  if (/[\r\n]/.test(event)) throw new Error(`an event name cannot contain a line break: ${JSON.stringify(event)}`);
  const json = JSON.stringify(data);
  // JSON.stringify escapes line breaks inside strings, so the text is one line; split anyway, to be safe.
  return `event: ${event}\n${json.split(/\r\n|\r|\n/).map((line) => `data: ${line}`).join('\n')}\n\n`;
}

export interface SseServerOptions {
  /** The page, rendered when asked for (so a page opened late shows the run so far). */
  readonly page: () => string;
  /** Events a client that connects receives first (the latest state), before the live ones. */
  readonly greeting?: () => ReadonlyArray<{ readonly event: string; readonly data: unknown }>;
}

/** An HTTP server with one page and one event stream; `broadcast` writes to every open stream. */
export class SseServer {
  private readonly server: Server;
  private readonly clients = new Set<ServerResponse>();
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(private readonly options: SseServerOptions) {
    this.server = createServer((request, response) => this.handle(request, response));
  }

  /** Starts listening; resolves with the page's URL. */
  async listen(address: ListenAddress): Promise<string> {
    await new Promise<void>((resolveListen, reject) => {
      this.server.once('error', reject);
      this.server.listen(address.port, address.host, () => {
        this.server.off('error', reject);
        resolveListen();
      });
    });
    // A comment line now and then keeps proxies and idle timeouts from closing quiet streams.
    this.keepAlive = setInterval(() => this.writeAll(': keep-alive\n\n'), 15_000);
    this.keepAlive.unref();
    return this.url;
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}/`;
  }

  /** Open event streams (clients that went away are dropped as their sockets close). */
  get clientCount(): number {
    return this.clients.size;
  }

  broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.writeAll(frameEvent(event, data));
  }

  /** Ends every stream (after what was written is flushed) and stops listening. */
  async close(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    const ended = [...this.clients].map((client) => new Promise<void>((done) => client.end(done)));
    this.clients.clear();
    await Promise.all(ended);
    await new Promise<void>((done) => {
      this.server.close(() => done());
      this.server.closeAllConnections();
    });
  }

  private writeAll(text: string): void {
    for (const client of this.clients) {
      if (client.destroyed || client.writableEnded) this.clients.delete(client);
      // A slow client's buffer grows; one that has not drained a megabyte is dropped, not waited on.
      else if (client.writableLength > 1 << 20) {
        this.clients.delete(client);
        client.destroy();
      } else client.write(text);
    }
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/') {
      let page: string;
      try {
        page = this.options.page();
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`imload: the live page could not be rendered: ${(error as Error).message}\n`);
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
      return;
    }
    if (path === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      response.write('retry: 2000\n\n');
      for (const { event, data } of this.options.greeting?.() ?? []) response.write(frameEvent(event, data));
      this.clients.add(response);
      const drop = () => this.clients.delete(response);
      request.on('close', drop);
      response.on('close', drop);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  }
}
