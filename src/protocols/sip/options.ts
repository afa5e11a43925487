/**
 * The `options:` map of a `sip` target (docs/sip.md § Target options): strict, so `imload validate`
 * names a misspelt option at its line and column, and the agent reads what this schema parsed
 * (settings.ts). Defaults that depend on other options (t2Ms, logonTimeoutMs) are applied there.
 */
import { z } from 'zod';

const seconds = z.number().min(0);
const ms = z.number().min(0);

export const SipOptions = z.strictObject({
  /** Requested REGISTER, SUBSCRIBE and PUBLISH expiry in seconds (3600). */
  registerExpires: seconds.default(3600),
  subscribeExpires: seconds.default(3600),
  publishExpires: seconds.default(3600),
  /** RFC 3261 timers T1 (500 ms) and T2 (4 s, at least T1). */
  t1Ms: ms.optional(),
  t2Ms: ms.optional(),
  /** Bound on the whole logon (64·T1 + 10 s). */
  logonTimeoutMs: ms.optional(),
  /** TCP/TLS connect timeout (10 s). */
  connectTimeoutMs: ms.default(10_000),
  /** UDP sockets shared by all users of one agent, i.e. per worker (4). */
  udpSockets: z.number().min(0).default(4),
  /** How long logoff waits for each final NOTIFY after un-SUBSCRIBE (2 s). */
  finalNotifyWaitMs: ms.default(2000),
  /** Kamailio ctl socket for `kamcmd -s` (the server's own online count). */
  ctl: z.string().min(1).optional(),
  /** ctl sockets of every front end of a pool (kamailio-pool lab): the online count is read from each. */
  poolCtl: z.array(z.string().min(1)).optional(),
  /** kamcmd binary (from PATH). */
  kamcmd: z.string().min(1).default('kamcmd'),
  /** `pager`: one MESSAGE per instant message (RFC 3428); `session`: INVITE, MESSAGE, BYE (LCS 2005). */
  imMode: z.enum(['pager', 'session']).default('pager'),
});
export type SipOptions = z.output<typeof SipOptions>;
