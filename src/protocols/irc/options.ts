/**
 * The `options:` map of an `irc` target: strict, so `imload validate` names a misspelt option at
 * its line and column; the agent reads what this schema parsed (index.ts).
 */
import { z } from 'zod';

export const IrcOptions = z.strictObject({
  /** Log on with SASL PLAIN (IRCv3) instead of PASS when the users have a password. */
  sasl: z.boolean().default(false),
  /** IRCv3 capabilities to request besides server-time, message-tags and multi-prefix, when offered. */
  caps: z.array(z.string().min(1)).default([]),
});
export type IrcOptions = z.output<typeof IrcOptions>;
