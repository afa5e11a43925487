/**
 * The XMPP target's `options:` map: one strict zod schema that `validate` checks (a misspelt
 * option is an error with its line) and the agent reads its settings from.
 */
import { z } from 'zod';
import { AgentError } from '../types.js';

export const xmppOptions = z.strictObject({
  /** STARTTLS (RFC 6120 § 5): `auto` uses it when offered (default), `required` fails without it, `never` stays plain. */
  starttls: z.enum(['auto', 'required', 'never']).optional(),
  /** SASL mechanism (§ 6): `auto` picks the strongest offered of SCRAM-SHA-256, SCRAM-SHA-1, PLAIN. */
  sasl: z.enum(['auto', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']).optional(),
  /** Resource to bind (§ 7); the server may assign another. Default `imload`. */
  resource: z.string().min(1).max(200).optional(),
  /** The MUC service channels live on (XEP-0045), default `conference.<domain>`. */
  mucService: z.string().min(1).optional(),
  /**
   * Acknowledge each sent message with an XEP-0199 ping behind it (the server handles a
   * session's stanzas in order, so an error bounce comes before the pong). Default true.
   */
  ackMessages: z.boolean().optional(),
  /** How long a send, join or logon step waits for the server (ms, default 30000). */
  timeoutMs: z.number().int().positive().optional(),
  /** Prosody's config file: `prosodyctl --config <it> shell` gives the server's own online count (set by the lab). */
  prosodyConfig: z.string().min(1).optional(),
  /** ejabberd's online count through `ejabberdctl` (set by the ejabberd lab; see lab-ejabberd.ts). */
  ejabberdctl: z.string().min(1).optional(),
  /** ejabberd lab handle fields passed through by its starter. */
  ejabberd: z.record(z.string(), z.unknown()).optional(),
});

export type XmppOptions = z.infer<typeof xmppOptions>;

export interface XmppSettings {
  readonly domain: string;
  readonly starttls: 'auto' | 'required' | 'never';
  readonly sasl: 'auto' | 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN';
  readonly resource: string;
  readonly mucService: string;
  readonly ackMessages: boolean;
  readonly timeoutMs: number;
  readonly prosodyConfig?: string;
  readonly ejabberdctl?: string;
}

export function xmppSettings(domain: string, options: Readonly<Record<string, unknown>>): XmppSettings {
  // Not strict here: a lab starter may pass keys of its own; `validate` checks the scenario's strictly.
  const parsed = z.object(xmppOptions.shape).safeParse(options);
  if (!parsed.success) throw new AgentError('config-error', `XMPP target options: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  return {
    domain,
    starttls: o.starttls ?? 'auto',
    sasl: o.sasl ?? 'auto',
    resource: o.resource ?? 'imload',
    mucService: o.mucService ?? `conference.${domain}`,
    ackMessages: o.ackMessages ?? true,
    timeoutMs: o.timeoutMs ?? 30_000,
    prosodyConfig: o.prosodyConfig,
    ejabberdctl: o.ejabberdctl,
  };
}
