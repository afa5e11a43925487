/**
 * The IRC user's socket, and the kinds of the server's own ERROR (throttled, flooded off,
 * banned); socket, TLS and DNS failures are named by the shared classifier (../errors.ts).
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { AgentTarget } from '../types.js';
import type { ErrorKind } from '../errors.js';

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

/**
 * A server pacing new connections: InspIRCd's connflood `Throttled`, hybrid's "trying to (re)connect
 * too fast -- throttled", UnrealIRCd's "Throttled: Reconnecting too fast".
 */
export function isThrottleText(text: string): boolean {
  return /throttl|too fast/i.test(text);
}

/** The kind of an `ERROR :text` the server sends before closing us (servers word it freely). */
export function serverErrorKind(text: string): ErrorKind {
  return isThrottleText(text) ? 'throttled'
    : /flood|sendq|recvq/i.test(text) ? 'flood-disconnect'
    : /password|authenticat/i.test(text) ? 'auth-failed'
    : /ban|[kgz]-?line/i.test(text) ? 'banned'
    : 'server-error';
}
