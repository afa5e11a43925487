/**
 * Sends RVP requests for the agent's users over one shared keep-alive pool: addresses nodes by
 * their logical URL at the entry server (router or combined), follows 302 to the physical URL
 * and caches it per node (research/rvp.md §1, §9), and answers 401 challenges per user.
 * Bytes go to the requesting user's `events.bytes`; a failure is thrown as an AgentError, and counted
 * once: by the engine when it ends an operation, by the user when it swallows it (a watch, a renewal).
 */
import { ClientError, HttpClientPool } from './wire/http-client.js';
import type { HttpResponse } from './wire/http1.js';
import type { VuEvents } from '../types.js';
import { AgentError, timeoutKind, type ErrorKind, type Operation } from '../errors.js';
import { Credentials, UnsupportedChallengeError } from './credentials.js';
import type { RvpAgentSettings } from './settings.js';

/** Where a node's requests go: a server and the request-URI to use there. */
interface NodeAddress {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Host header: the name without the port, as Net::RVP found Exchange needs (§2). */
  readonly hostHeader: string;
}

/** The per-user side of a request: who signs it and who is charged for its bytes. */
export interface Requester {
  readonly principalUrl: string;
  readonly credentials: Credentials | undefined;
  readonly events: VuEvents;
}

const MAX_REDIRECTS = 3;

export class RvpTransport {
  /** Alias → physical address learnt from a router's 302; shared by all users (§1 "MAY cache"). */
  private readonly homes = new Map<string, NodeAddress>();
  readonly pool: HttpClientPool;

  constructor(
    private readonly settings: RvpAgentSettings,
    private readonly entryHost: string,
    private readonly entryPort: number,
  ) {
    this.pool = new HttpClientPool({
      maxConnectionsPerOrigin: settings.maxConnections,
      connectTimeoutMs: settings.connectTimeoutMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      idleTimeoutMs: settings.keepAliveIdleMs,
      tls: settings.tls,
    });
  }

  get endpoint(): string {
    return `${this.entryHost}:${this.entryPort}`;
  }

  /**
   * One RVP request to a principal's node, with redirects and one authentication retry.
   * Resolves with the final response (any status but 302/401); rejects with AgentError, whose
   * kind names a timeout by `operation` (the user's operation this request is part of).
   */
  async send(
    from: Requester,
    operation: Operation,
    alias: string,
    method: string,
    headers: readonly (readonly [string, string])[],
    body = '',
  ): Promise<HttpResponse> {
    let address = this.homes.get(alias) ?? this.entryAddress(alias);
    let redirects = 0;
    let authRetried = false;
    for (;;) {
      const origin = `${address.host}:${address.port}`;
      const all: [string, string][] = [
        ['Host', address.hostHeader],
        ['RVP-Notifications-Version', '0.2'],
        ['RVP-From-Principal', from.principalUrl],
        ['User-Agent', this.settings.userAgent],
      ];
      for (const header of headers) all.push([header[0], header[1]]);
      const authorization = from.credentials?.authorization(origin, method, address.path);
      if (authorization !== undefined) all.push(['Authorization', authorization]);
      let response: HttpResponse;
      try {
        const result = await this.pool.request(address.host, address.port, { method, target: address.path, headers: all, body });
        from.events.bytes(result.bytesIn, result.bytesOut);
        response = result.response;
      } catch (error) {
        if (!(error instanceof ClientError)) throw error;
        // A cached home that went away is forgotten, so the next request asks the router again.
        if (this.homes.get(alias) === address) this.homes.delete(alias);
        const kind: ErrorKind = error.kind === 'timeout' ? timeoutKind(operation) : error.kind;
        throw new AgentError(kind, `${method} ${alias}: ${error.message}`, origin, error.code);
      }
      if (response.status === 302) {
        const location = response.headers.map.get('location');
        if (location === undefined || ++redirects > MAX_REDIRECTS) {
          throw new AgentError('protocol-error', `${method} ${alias}: 302, bad or looping (${location ?? 'no Location'})`, origin, '302');
        }
        const next = this.resolveLocation(location, address);
        if (next === undefined) {
          throw new AgentError('protocol-error', `${method} ${alias}: 302, unusable Location ${location}`, origin, '302');
        }
        address = next;
        this.homes.set(alias, address);
        continue;
      }
      if (response.status === 401) {
        if (!authRetried && from.credentials !== undefined && this.acceptChallenge(from, origin, response, authorization !== undefined)) {
          authRetried = true;
          continue;
        }
        throw new AgentError('auth-failed', `${method} ${alias}: 401, the server refused the credentials`, origin, '401');
      }
      return response;
    }
  }

  /** GET on the entry server (the reference server's stats endpoint). */
  async get(path: string): Promise<HttpResponse> {
    const result = await this.pool.request(this.entryHost, this.entryPort, {
      method: 'GET',
      target: path,
      headers: [['Host', this.settings.domain]],
    });
    return result.response;
  }

  close(): void {
    this.pool.close();
  }

  private acceptChallenge(from: Requester, origin: string, response: HttpResponse, hadCredentials: boolean): boolean {
    try {
      return from.credentials!.accept(origin, response.headers.all.get('www-authenticate') ?? [], hadCredentials);
    } catch (error) {
      if (error instanceof UnsupportedChallengeError) return false;
      throw error;
    }
  }

  private entryAddress(alias: string): NodeAddress {
    return {
      host: this.entryHost,
      port: this.entryPort,
      path: `/instmsg/aliases/${encodeURIComponent(alias)}`,
      hostHeader: this.settings.domain,
    };
  }

  private resolveLocation(location: string, current: NodeAddress): NodeAddress | undefined {
    let url: URL;
    try {
      url = new URL(location, `http://${current.host}:${current.port}${current.path}`);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'http:') return undefined;
    return {
      host: url.hostname,
      port: url.port === '' ? 80 : Number(url.port),
      path: `${url.pathname}${url.search}`,
      hostHeader: url.hostname,
    };
  }
}
