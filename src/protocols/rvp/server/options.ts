/**
 * Configuration of one RVP server process, with the Exchange 2000 defaults
 * (research/rvp.md §9, §10, §12).
 */
import type { AuthScheme } from '../wire/auth.js';
import type { HomeMap, PasswordSource, UserSource } from './directory.js';

export type ServerRole = 'home' | 'router' | 'combined';

export interface RvpServerOptions {
  readonly role: ServerRole;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** IM domain, e.g. `im.example.com`; also the Digest realm. */
  readonly domain: string;
  readonly users: UserSource;
  /** Required when auth is on. */
  readonly password?: PasswordSource;
  /** Schemes offered in 401 challenges; an empty list turns authentication off. */
  readonly auth?: readonly AuthScheme[];
  /** Alias → home server. Required for a router; lets a home server reach peers. */
  readonly homes?: HomeMap;
  /** This server's own base URL as it appears in `homes` (default `http://HOST:PORT`). */
  readonly selfUrl?: string;
  /** Inbound work items in progress above which requests get 503 (Exchange default 1024). */
  readonly maxInbound?: number;
  /** Length of one protocol second in ms (tests shrink leases and lifetimes with it). */
  readonly secondMs?: number;
  /** Longest granted subscription lifetime, seconds (default 14400). */
  readonly maxSubscriptionLifetime?: number;
  /** Longest granted presence lease, seconds (default 14400, as Net::RVP asks for it). */
  readonly maxLeaseSeconds?: number;
  readonly maxHeadBytes?: number;
  readonly maxBodyBytes?: number;
  /** A request must be complete this long after its first byte, else 408 (slowloris guard). */
  readonly requestTimeoutMs?: number;
  /** Keep-alive connections idle this long are closed. */
  readonly idleTimeoutMs?: number;
  /** How long a NOTIFY relay waits for the callback's answer. */
  readonly relayTimeoutMs?: number;
  /** Connections kept per callback or peer origin for relaying NOTIFYs. */
  readonly relayConnections?: number;
  /**
   * Connections one source address may hold at once (default 1024, 0 = no limit); beyond it a new
   * connection gets 503 and is closed, so one client cannot take every socket of the process.
   */
  readonly maxConnectionsPerAddress?: number;
  /** Serve HTTPS (rvps://) with this PEM certificate and key instead of plain HTTP. */
  readonly tls?: { readonly certificateFile: string; readonly privateKeyFile: string };
  /**
   * Presence NOTIFYs carry `r:state` alone, as the draft's examples do, not the other properties
   * a node set (default false): tests that a client's figures rest on standard content only.
   */
  readonly notifyStateOnly?: boolean;
  /** Writes one line per notable event (never credentials). */
  readonly log?: (line: string) => void;
}

export interface ResolvedOptions extends Required<Omit<RvpServerOptions, 'password' | 'homes' | 'selfUrl' | 'log' | 'tls'>> {
  readonly homes: HomeMap | undefined;
  readonly tls: RvpServerOptions['tls'];
  readonly log: (line: string) => void;
}

export function withDefaults(options: RvpServerOptions): ResolvedOptions {
  return {
    role: options.role,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    domain: options.domain,
    users: options.users,
    auth: options.auth ?? ['digest', 'basic'],
    homes: options.homes,
    maxInbound: options.maxInbound ?? 1024,
    secondMs: options.secondMs ?? 1000,
    maxSubscriptionLifetime: options.maxSubscriptionLifetime ?? 14400,
    maxLeaseSeconds: options.maxLeaseSeconds ?? 14400,
    maxHeadBytes: options.maxHeadBytes ?? 16 * 1024,
    maxBodyBytes: options.maxBodyBytes ?? 256 * 1024,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
    relayTimeoutMs: options.relayTimeoutMs ?? 30_000,
    relayConnections: options.relayConnections ?? 16,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 1024,
    notifyStateOnly: options.notifyStateOnly ?? false,
    tls: options.tls,
    log: options.log ?? (() => {}),
  };
}
