/**
 * IRCv3 capability negotiation and SASL PLAIN. Servers without CAP answer 421 (or nothing) and
 * register as soon as NICK/USER arrive; servers with CAP hold registration until CAP END.
 */
import type { IrcMessage } from './codec.js';
import type { IrcUser } from './user.js';

/** Requested when offered; `options.caps` adds more (e.g. echo-message). */
const DEFAULT_CAPS = ['server-time', 'message-tags', 'multi-prefix'];

export function handleCap(user: IrcUser, message: IrcMessage): void {
  const { command, params } = message;
  if (command === 'AUTHENTICATE') {
    if (params[0] === '+') {
      const name = user.identity.name;
      user.send(`AUTHENTICATE ${Buffer.from(`${name}\0${name}\0${user.identity.password ?? ''}`).toString('base64')}`);
    }
    return;
  }
  if (command === '903') {
    user.send('CAP END');
    return;
  }
  if (command !== 'CAP') {
    // 902/904/905/906: SASL refused or aborted.
    user.failLogon('auth-failed', `${user.endpoint}: SASL authentication failed (${command} ${params[params.length - 1] ?? ''})`);
    return;
  }
  const sub = (params[1] ?? '').toUpperCase();
  if (sub === 'LS') {
    const more = params[2] === '*';
    const list = more ? params[3] : params[2];
    for (const cap of (list ?? '').split(' ')) if (cap) user.capsOffered.push(cap.split('=')[0]!);
    if (more) return;
    const wanted = wantedCaps(user);
    if (user.features.capsOffered.length === 0) user.features.capsOffered = [...user.capsOffered];
    if (wanted.length === 0) user.send('CAP END');
    else user.send(`CAP REQ :${wanted.join(' ')}`);
  } else if (sub === 'ACK') {
    const acked = (params[2] ?? '').split(' ').filter(Boolean);
    if (user.features.capsEnabled.length === 0) user.features.capsEnabled = acked;
    if (acked.includes('sasl')) user.send('AUTHENTICATE PLAIN');
    else user.send('CAP END');
  } else if (sub === 'NAK') {
    if (useSasl(user)) user.failLogon('auth-failed', `${user.endpoint} refused the sasl capability`);
    else user.send('CAP END');
  }
}

function useSasl(user: IrcUser): boolean {
  return user.target.options.sasl === true && user.identity.password !== undefined;
}

function wantedCaps(user: IrcUser): string[] {
  const extra = Array.isArray(user.target.options.caps) ? (user.target.options.caps as unknown[]).map(String) : [];
  const wanted = [...DEFAULT_CAPS, ...extra].filter((cap) => user.capsOffered.includes(cap));
  if (useSasl(user)) {
    if (!user.capsOffered.includes('sasl')) {
      user.failLogon('auth-failed', `${user.endpoint} does not offer SASL`);
      return [];
    }
    wanted.push('sasl');
  }
  return [...new Set(wanted)];
}
