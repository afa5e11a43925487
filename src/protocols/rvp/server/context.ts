/**
 * What every method handler works with: the shared server state and one decoded request.
 */
import type { HttpRequest } from '../wire/http1.js';
import type { HttpClientPool } from '../wire/http-client.js';
import type { PresenceStore, PrincipalNode } from './store.js';
import type { ServerStats } from './stats.js';
import type { ResolvedOptions } from './options.js';
import { homeFor, logicalUrl, type UserDirectory } from './directory.js';

export interface Reply {
  readonly status: number;
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: string | Buffer;
  /** Reason phrase to use instead of the standard one (e.g. `400 credentials not specified`). */
  readonly reason?: string;
}

/** One request addressed to a principal node homed on this server. */
export interface NodeRequest {
  readonly request: HttpRequest;
  readonly node: PrincipalNode;
  /** Who is asking: the authenticated alias, or RVP-From-Principal's alias when auth is off. */
  readonly principal: string | undefined;
  readonly now: number;
}

export class ServerContext {
  /** Base URL of this server as it appears in the home map (`http://host:port`). */
  selfUrl = '';

  constructor(
    readonly options: ResolvedOptions,
    readonly directory: UserDirectory,
    readonly store: PresenceStore,
    readonly stats: ServerStats,
    readonly relay: HttpClientPool,
  ) {}

  logicalUrl(alias: string): string {
    return logicalUrl(this.options.domain, alias);
  }

  /** The home server base URL for an alias, or undefined when it is homed here (or unmapped). */
  remoteHome(alias: string): string | undefined {
    const homes = this.options.homes;
    if (homes === undefined) return undefined;
    const index = this.directory.indexOf(alias);
    if (index === undefined) return undefined;
    const home = homeFor(homes, alias, index);
    return home === undefined || home === this.selfUrl ? undefined : home;
  }
}

export function reply(status: number, headers: readonly (readonly [string, string])[] = [], body?: string | Buffer): Reply {
  return { status, headers, body };
}

export function xmlReply(status: number, body: string, headers: readonly (readonly [string, string])[] = []): Reply {
  return { status, headers: [...headers, ['Content-Type', 'text/xml']], body };
}

/** The RVP version a response echoes: the request's, defaulting to what real clients send. */
export function rvpVersion(request: HttpRequest): string {
  return request.headers.map.get('rvp-notifications-version') ?? '0.2';
}
