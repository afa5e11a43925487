/**
 * The RVP agent's settings: the target's `options:` map parsed by the descriptor's schema
 * (options.ts, with Exchange/Windows Messenger defaults), plus what the target itself says.
 */
import { readFileSync } from 'node:fs';
import { AgentError, type AgentTarget } from '../types.js';
import { parseTargetOptions } from '../descriptor.js';
import { RvpOptions } from './options.js';

export interface RvpAgentSettings {
  /** IM domain: logical URLs are `http://<domain>/instmsg/aliases/<alias>`. */
  readonly domain: string;
  /** Login and contact subscription lifetime asked for (option `subscriptionLifetime`, 14400 s). */
  readonly subscriptionLifetime: number;
  /** Renew this long before a subscription expires (option `renewBeforeSeconds`, 300 s). */
  readonly renewBeforeSeconds: number;
  /** Presence lease (option `leaseSeconds`, 1200 s) and its refresh period (`leaseRefreshSeconds`, 900 s). */
  readonly leaseSeconds: number;
  readonly leaseRefreshSeconds: number;
  /** Host the callback listener binds and advertises in Call-Back (option `callbackHost`; unset: see callbackHostFor). */
  readonly callbackHost?: string;
  /** Callback listener port (option `callbackPort`, 0 = any free port). */
  readonly callbackPort: number;
  /** Pooled keep-alive connections per server (option `maxConnections`, 64). */
  readonly maxConnections: number;
  /** Per-request timeout (option `requestTimeoutMs`, 30 s as Gaim/librvp). */
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Close pooled connections idle this long, below the server's keep-alive timeout (option `keepAliveIdleMs`, 10 s). */
  readonly keepAliveIdleMs: number;
  /** Digest/Basic user name; `{name}` is replaced by the alias (option `authUser`, `{name}`). */
  readonly authUser: string;
  /** Read the own ACL at logon as Miranda does (option `aclAtLogon`, true). */
  readonly aclAtLogon: boolean;
  readonly userAgent: string;
  /** rvps:// (HTTPS): the CA to verify the server with, or verification off (`tls.insecure`). */
  readonly tls?: { readonly ca?: Buffer; readonly rejectUnauthorized: boolean; readonly servername?: string };
}

export function readSettings(target: AgentTarget): RvpAgentSettings {
  const endpoint = `${target.host}:${target.port}`;
  if (target.transport === 'udp') throw new AgentError('config-error', 'rvp runs over HTTP on TCP (rvp://) or TLS (rvps://), not udp', endpoint);
  const options = parseTargetOptions(RvpOptions, target);
  return {
    ...options,
    domain: target.domain ?? target.host,
    leaseRefreshSeconds: options.leaseRefreshSeconds ?? Math.min(900, options.leaseSeconds * 0.75),
    maxConnections: Math.max(1, Math.floor(options.maxConnections)),
    tls: target.transport === 'tls' ? tlsSettings(target, endpoint) : undefined,
  };
}

function tlsSettings(target: AgentTarget, endpoint: string): NonNullable<RvpAgentSettings['tls']> {
  let ca: Buffer | undefined;
  if (target.tls?.ca) {
    try {
      ca = readFileSync(target.tls.ca);
    } catch (error) {
      throw new AgentError('config-error', `cannot read the TLS CA file ${target.tls.ca}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, endpoint);
    }
  }
  // An IP address is not a valid SNI name; the certificate's IP subjectAltName is checked instead.
  const servername = target.tls?.serverName ?? (/^[\d.]+$|:/.test(target.host) ? undefined : target.host);
  return { ca, rejectUnauthorized: !target.tls?.insecure, servername };
}
