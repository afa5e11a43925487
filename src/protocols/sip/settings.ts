/**
 * The SIP agent's settings: the target's `options:` map parsed by the descriptor's schema
 * (options.ts; a misspelt or mistyped option is a configuration error), plus what the target says.
 */
import { randomBytes } from 'node:crypto';
import type { AgentTarget } from '../types.js';
import { parseTargetOptions } from '../descriptor.js';
import { SipOptions } from './options.js';
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
  /** Every pool front end's ctl socket (option `poolCtl`). */
  readonly poolCtl?: readonly string[];
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

export function readSettings(target: AgentTarget): SipAgentSettings {
  const options = parseTargetOptions(SipOptions, target);
  const t1Ms = options.t1Ms ?? DEFAULT_TIMERS.t1Ms;
  const timers = { t1Ms, t2Ms: options.t2Ms ?? Math.max(DEFAULT_TIMERS.t2Ms, t1Ms) };
  return {
    domain: target.domain ?? target.host,
    timers,
    registerExpires: options.registerExpires,
    subscribeExpires: options.subscribeExpires,
    publishExpires: options.publishExpires,
    logonTimeoutMs: options.logonTimeoutMs ?? 64 * t1Ms + 10_000,
    connectTimeoutMs: options.connectTimeoutMs,
    udpSockets: Math.max(1, Math.floor(options.udpSockets)),
    finalNotifyWaitMs: options.finalNotifyWaitMs,
    ctl: options.ctl,
    poolCtl: options.poolCtl,
    kamcmd: options.kamcmd,
    imMode: options.imMode,
    instanceTag: randomBytes(4).toString('hex'),
  };
}
