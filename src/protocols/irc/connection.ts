/**
 * The IRC user's socket and how its failures are named: the error kinds a capacity report
 * counts (refused, reset, TLS, banned, flooded off) from a socket error or the server's ERROR.
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { AgentTarget } from '../types.js';

/** Opens the user's connection (TLS verified against the target's CA unless told otherwise). */
export function openSocket(target: AgentTarget, localAddress: string | undefined): Socket {
  const { host, port, transport, tls } = target;
  if (transport !== 'tls') return netConnect({ host, port, localAddress });
  return tlsConnect({
    host,
    port,
    localAddress,
    servername: tls?.serverName ?? (/^[\d.]+$/.test(host) ? undefined : host),
    ca: tls?.ca ? readFileSync(tls.ca) : undefined,
    rejectUnauthorized: !tls?.insecure,
  } as ConnectionOptions);
}

export function socketErrorKind(error: NodeJS.ErrnoException): string {
  return error.code === 'ECONNREFUSED' ? 'connect-refused'
    : error.code === 'ETIMEDOUT' ? 'connect-timeout'
    // A write after the peer closed fails with EPIPE rather than ECONNRESET, depending only on
    // whether we were writing or reading when the server went: the same loss either way.
    : error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'connection-reset'
    : error.code === 'EADDRNOTAVAIL' ? 'source-address'
    : /certificate|self.signed|SSL|TLS/i.test(error.message) ? 'tls-error'
    : 'socket-error';
}

/**
 * A server pacing new connections: InspIRCd's connflood `Throttled`, hybrid's "trying to (re)connect
 * too fast -- throttled", UnrealIRCd's "Throttled: Reconnecting too fast".
 */
export function isThrottleText(text: string): boolean {
  return /throttl|too fast/i.test(text);
}

/** The kind of an `ERROR :text` the server sends before closing us (servers word it freely). */
export function serverErrorKind(text: string): string {
  return isThrottleText(text) ? 'throttled'
    : /flood|sendq|recvq/i.test(text) ? 'flood-disconnect'
    : /password|authenticat/i.test(text) ? 'auth-failed'
    : /ban|[kgz]-?line/i.test(text) ? 'banned'
    : 'server-error';
}
