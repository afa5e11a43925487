/**
 * The RVP target's `options:` map, validated, with Exchange/Windows Messenger defaults
 * (research/rvp.md §10, §16.5). Unknown keys are ignored; a known key with a wrong type is a
 * configuration error.
 */
import { readFileSync } from 'node:fs';
import { AgentError, type AgentTarget } from '../types.js';

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
  /** Host the callback listener binds and advertises in Call-Back (option `callbackHost`, 127.0.0.1). */
  readonly callbackHost: string;
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

function number(options: AgentTarget['options'], key: string, fallback: number, endpoint: string, min = 0): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new AgentError('config-error', `rvp option ${key} must be a number >= ${min}`, endpoint);
  }
  return value;
}

function string(options: AgentTarget['options'], key: string, fallback: string, endpoint: string): string {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') throw new AgentError('config-error', `rvp option ${key} must be a non-empty string`, endpoint);
  return value;
}

export function readSettings(target: AgentTarget): RvpAgentSettings {
  const endpoint = `${target.host}:${target.port}`;
  const options = target.options;
  if (target.transport === 'udp') throw new AgentError('config-error', 'rvp runs over HTTP on TCP (rvp://) or TLS (rvps://), not udp', endpoint);
  const leaseSeconds = number(options, 'leaseSeconds', 1200, endpoint, 1);
  const aclAtLogon = options.aclAtLogon;
  if (aclAtLogon !== undefined && typeof aclAtLogon !== 'boolean') throw new AgentError('config-error', 'rvp option aclAtLogon must be a boolean', endpoint);
  return {
    domain: target.domain ?? target.host,
    subscriptionLifetime: number(options, 'subscriptionLifetime', 14400, endpoint, 1),
    renewBeforeSeconds: number(options, 'renewBeforeSeconds', 300, endpoint),
    leaseSeconds,
    leaseRefreshSeconds: number(options, 'leaseRefreshSeconds', Math.min(900, leaseSeconds * 0.75), endpoint, 0.001),
    callbackHost: string(options, 'callbackHost', '127.0.0.1', endpoint),
    callbackPort: number(options, 'callbackPort', 0, endpoint),
    maxConnections: Math.max(1, Math.floor(number(options, 'maxConnections', 64, endpoint, 1))),
    requestTimeoutMs: number(options, 'requestTimeoutMs', 30_000, endpoint, 1),
    connectTimeoutMs: number(options, 'connectTimeoutMs', 10_000, endpoint, 1),
    keepAliveIdleMs: number(options, 'keepAliveIdleMs', 10_000, endpoint, 1),
    authUser: string(options, 'authUser', '{name}', endpoint),
    aclAtLogon: aclAtLogon ?? true,
    userAgent: string(options, 'userAgent', 'imload-rvp (msmsgs/5.1.0.639 compatible)', endpoint),
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
