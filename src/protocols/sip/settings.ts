/**
 * The SIP target's `options:` map, validated. Unknown keys are ignored (other tools may share
 * the map); a known key with a wrong type is a configuration error, not a silent default.
 */
import { randomBytes } from 'node:crypto';
import { AgentError, type AgentTarget } from '../types.js';
import { DEFAULT_TIMERS, type TransactionTimers } from './transactions.js';

export interface SipAgentSettings {
  readonly domain: string;
  readonly timers: TransactionTimers;
  /** Requested REGISTER expiry in seconds (option `registerExpires`, default 3600). */
  readonly registerExpires: number;
  /** Requested SUBSCRIBE expiry (option `subscribeExpires`, default 3600). */
  readonly subscribeExpires: number;
  /** Requested PUBLISH expiry (option `publishExpires`, default 3600). */
  readonly publishExpires: number;
  /** Logon must finish within this (option `logonTimeoutMs`, default 64·T1 + 10 s). */
  readonly logonTimeoutMs: number;
  /** TCP/TLS connect timeout (option `connectTimeoutMs`, default 10 s). */
  readonly connectTimeoutMs: number;
  /** UDP sockets shared by all users of this agent (option `udpSockets`, default 4). */
  readonly udpSockets: number;
  /** How long logoff waits for each final NOTIFY after un-SUBSCRIBE (option `finalNotifyWaitMs`, default 2 s). */
  readonly finalNotifyWaitMs: number;
  /** Kamailio ctl socket for the server's own online count (option `ctl`, e.g. unixs:/run/kamailio_ctl). */
  readonly ctl?: string;
  /** kamcmd binary (option `kamcmd`, default from PATH). */
  readonly kamcmd: string;
  /**
   * How instant messages go (option `imMode`): `pager` (default) one MESSAGE (RFC 3428);
   * `session` the LCS 2005 pattern, INVITE + MESSAGE in the dialog + BYE (im-session.ts).
   */
  readonly imMode: 'pager' | 'session';
  /** Random per agent: keeps tags, branches and Call-IDs unique across workers and runs. */
  readonly instanceTag: string;
}

function positiveNumber(options: AgentTarget['options'], key: string, fallback: number, endpoint: string): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new AgentError('config-error', `sip option ${key} must be a non-negative number`, endpoint);
  }
  return value;
}

function optionalString(options: AgentTarget['options'], key: string, endpoint: string): string | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new AgentError('config-error', `sip option ${key} must be a string`, endpoint);
  return value;
}

export function readSettings(target: AgentTarget): SipAgentSettings {
  const endpoint = `${target.host}:${target.port}`;
  const options = target.options;
  const t1Ms = positiveNumber(options, 't1Ms', DEFAULT_TIMERS.t1Ms, endpoint);
  const timers = { t1Ms, t2Ms: positiveNumber(options, 't2Ms', Math.max(DEFAULT_TIMERS.t2Ms, t1Ms), endpoint) };
  const udpSockets = Math.floor(positiveNumber(options, 'udpSockets', 4, endpoint));
  return {
    domain: target.domain ?? target.host,
    timers,
    registerExpires: positiveNumber(options, 'registerExpires', 3600, endpoint),
    subscribeExpires: positiveNumber(options, 'subscribeExpires', 3600, endpoint),
    publishExpires: positiveNumber(options, 'publishExpires', 3600, endpoint),
    logonTimeoutMs: positiveNumber(options, 'logonTimeoutMs', 64 * t1Ms + 10_000, endpoint),
    connectTimeoutMs: positiveNumber(options, 'connectTimeoutMs', 10_000, endpoint),
    udpSockets: Math.max(1, udpSockets),
    finalNotifyWaitMs: positiveNumber(options, 'finalNotifyWaitMs', 2000, endpoint),
    ctl: optionalString(options, 'ctl', endpoint),
    kamcmd: optionalString(options, 'kamcmd', endpoint) ?? 'kamcmd',
    imMode: imMode(options, endpoint),
    instanceTag: randomBytes(4).toString('hex'),
  };
}

function imMode(options: AgentTarget['options'], endpoint: string): SipAgentSettings['imMode'] {
  const value = optionalString(options, 'imMode', endpoint) ?? 'pager';
  if (value !== 'pager' && value !== 'session') throw new AgentError('config-error', 'sip option imMode must be pager or session', endpoint);
  return value;
}
