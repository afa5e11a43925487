/**
 * IRCv3 capability negotiation and SASL PLAIN, a unit the user drives: it reads the CAP,
 * AUTHENTICATE and SASL replies the user hands it and answers through the link it was given.
 * Servers without CAP answer 421 (or nothing) and register as soon as NICK/USER arrive; servers
 * with CAP hold registration until CAP END.
 */
import type { AgentTarget, VuIdentity } from '../types.js';
import type { ErrorKind } from '../errors.js';
import type { IrcMessage } from './codec.js';
import type { ServerFeatures } from './features.js';

/** Requested when offered; `options.caps` adds more (e.g. echo-message). */
const DEFAULT_CAPS = ['server-time', 'message-tags', 'multi-prefix'];

/** What the negotiation needs from the connection it runs on (the user implements it). */
export interface CapLink {
  readonly endpoint: string;
  send(line: string): void;
  /** Ends the logon as failed (a no-op once it is over). */
  failLogon(kind: ErrorKind, message: string, code?: string): void;
}

export class CapNegotiation {
  /** CAP LS lines collected until the last one. */
  private readonly offered: string[] = [];

  constructor(
    private readonly identity: VuIdentity,
    private readonly target: AgentTarget,
    /** The agent's shared view of the server: the first negotiation records what it offered and enabled. */
    private readonly features: ServerFeatures,
    private readonly link: CapLink,
  ) {}

  /** A CAP, AUTHENTICATE or SASL numeric (902–906) reply. */
  handle(message: IrcMessage): void {
    const { command, params } = message;
    const link = this.link;
    if (command === 'AUTHENTICATE') {
      if (params[0] === '+') {
        const name = this.identity.name;
        link.send(`AUTHENTICATE ${Buffer.from(`${name}\0${name}\0${this.identity.password ?? ''}`).toString('base64')}`);
      }
      return;
    }
    if (command === '903') {
      link.send('CAP END');
      return;
    }
    if (command !== 'CAP') {
      // 902/904/905/906: SASL refused or aborted.
      link.failLogon('auth-failed', `${command} ${link.endpoint}: SASL authentication failed (${params[params.length - 1] ?? ''})`, command);
      return;
    }
    const sub = (params[1] ?? '').toUpperCase();
    if (sub === 'LS') {
      const more = params[2] === '*';
      const list = more ? params[3] : params[2];
      for (const cap of (list ?? '').split(' ')) if (cap) this.offered.push(cap.split('=')[0]!);
      if (more) return;
      const wanted = this.wantedCaps();
      if (this.features.capsOffered.length === 0) this.features.capsOffered = [...this.offered];
      if (wanted === undefined) return;
      if (wanted.length === 0) link.send('CAP END');
      else link.send(`CAP REQ :${wanted.join(' ')}`);
    } else if (sub === 'ACK') {
      const acked = (params[2] ?? '').split(' ').filter(Boolean);
      if (this.features.capsEnabled.length === 0) this.features.capsEnabled = acked;
      if (acked.includes('sasl')) link.send('AUTHENTICATE PLAIN');
      else link.send('CAP END');
    } else if (sub === 'NAK') {
      if (this.useSasl()) link.failLogon('auth-failed', `${link.endpoint} refused the sasl capability`);
      else link.send('CAP END');
    }
  }

  private useSasl(): boolean {
    return this.target.options.sasl === true && this.identity.password !== undefined;
  }

  /** The caps to request; undefined when the logon cannot go on (SASL wanted, not offered). */
  private wantedCaps(): string[] | undefined {
    const extra = Array.isArray(this.target.options.caps) ? (this.target.options.caps as unknown[]).map(String) : [];
    const wanted = [...DEFAULT_CAPS, ...extra].filter((cap) => this.offered.includes(cap));
    if (this.useSasl()) {
      if (!this.offered.includes('sasl')) {
        this.link.failLogon('auth-failed', `${this.link.endpoint} does not offer SASL`);
        return undefined;
      }
      wanted.push('sasl');
    }
    return [...new Set(wanted)];
  }
}
