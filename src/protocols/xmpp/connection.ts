/**
 * The XMPP user's socket: TCP (upgraded by STARTTLS, RFC 6120 § 5) or direct TLS (xmpps://),
 * and how its failures map onto the shared error taxonomy (src/protocols/errors.ts).
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { AgentTarget } from '../types.js';
import type { ErrorKind } from '../errors.js';

function tlsOptions(target: AgentTarget, domain: string): ConnectionOptions {
  return {
    // The certificate names the XMPP domain (RFC 6120 § 13.7.2.1), not the address dialled.
    servername: target.tls?.serverName ?? (/^[\d.:[\]]+$/.test(domain) ? undefined : domain),
    ca: target.tls?.ca ? readFileSync(target.tls.ca) : undefined,
    rejectUnauthorized: !target.tls?.insecure,
  };
}

export function openSocket(target: AgentTarget, domain: string, localAddress: string | undefined): Socket {
  const { host, port } = target;
  if (target.transport !== 'tls') return netConnect({ host, port, localAddress });
  return tlsConnect({ host, port, localAddress, ...tlsOptions(target, domain) } as ConnectionOptions);
}

/** STARTTLS: TLS over the connected TCP socket after `<proceed/>`. */
export function upgradeSocket(socket: Socket, target: AgentTarget, domain: string): TLSSocket {
  return tlsConnect({ socket, ...tlsOptions(target, domain) });
}

export function socketErrorKind(error: NodeJS.ErrnoException): ErrorKind {
  const code = error.code ?? '';
  return code === 'ECONNREFUSED' ? 'connect-refused'
    : code === 'ETIMEDOUT' ? 'connect-timeout'
    : code === 'ECONNRESET' || code === 'EPIPE' ? 'connection-reset'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'dns-error'
    : code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO/.test(code) || /certificate|SSL|TLS/i.test(error.message) ? 'tls-error'
    : 'connection-reset';
}

export { streamErrorKind } from './conditions.js';
