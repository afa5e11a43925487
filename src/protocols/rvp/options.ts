/**
 * The `options:` map of an `rvp` target, with Exchange/Windows Messenger defaults (research/rvp.md
 * §10, §16.5): strict, so `imload validate` names a misspelt option at its line and column, and
 * the agent reads what this schema parsed (settings.ts).
 */
import { z } from 'zod';

export const RvpOptions = z.strictObject({
  /** Login and contact subscription lifetime asked for (14400 s). */
  subscriptionLifetime: z.number().min(1).default(14_400),
  /** Renew this long before a subscription expires (300 s). */
  renewBeforeSeconds: z.number().min(0).default(300),
  /** Presence lease (1200 s) and its refresh period (900 s, at most 3/4 of the lease). */
  leaseSeconds: z.number().min(1).default(1200),
  leaseRefreshSeconds: z.number().min(0.001).optional(),
  /**
   * Host the callback listener binds and advertises in Call-Back. Default: 127.0.0.1 for a server
   * on loopback, else this host's own address on the route to the server (which the server can
   * reach back, e.g. from another network namespace).
   */
  callbackHost: z.string().min(1).optional(),
  /** Callback listener port (0: any free port). */
  callbackPort: z.number().int().min(0).max(65_535).default(0),
  /** Pooled keep-alive connections per server (64). */
  maxConnections: z.number().min(1).default(64),
  /** Per-request timeout (30 s, as Gaim/librvp) and connect timeout (10 s). */
  requestTimeoutMs: z.number().min(1).default(30_000),
  connectTimeoutMs: z.number().min(1).default(10_000),
  /** Close pooled connections idle this long, below the server's keep-alive timeout (10 s). */
  keepAliveIdleMs: z.number().min(1).default(10_000),
  /** Digest/Basic user name; `{name}` is replaced by the alias. */
  authUser: z.string().min(1).default('{name}'),
  /** Read the own ACL at logon as Miranda does (true). */
  aclAtLogon: z.boolean().default(true),
  userAgent: z.string().min(1).default('imload-rvp (msmsgs/5.1.0.639 compatible)'),
});
export type RvpOptions = z.output<typeof RvpOptions>;
