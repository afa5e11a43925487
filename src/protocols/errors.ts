/**
 * One error taxonomy for every protocol (docs/metrics.md § Error kinds): the same failure gets
 * the same kind whichever agent saw it, so reports compare across protocols. Agents name socket,
 * TLS and DNS failures with `classifySocketError`, timeouts with `timeoutKind(operation)`, and
 * a refusal the taxonomy has no closer kind for as `protocol-error` with the protocol's own code
 * (an IRC numeric, a SIP or RVP status) in `AgentError.code` and at the head of the detail.
 */

/** What a user was doing when something failed: names the timeout kinds (`logon-timeout`, ...). */
export const OPERATIONS = ['connect', 'logon', 'join', 'send', 'presence', 'logoff', 'refresh'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const ERROR_KINDS = [
  // The connection (classifySocketError): the same socket failure, the same kind, in every agent.
  'dns-error',
  'connect-refused',
  'connect-timeout',
  'connection-reset',
  'unexpected-close',
  'tls-error',
  'source-address',
  'socket-error',
  // No answer in time, by operation (connect-timeout above is the connect operation's).
  'logon-timeout',
  'join-timeout',
  'send-timeout',
  'presence-timeout',
  'logoff-timeout',
  'refresh-timeout',
  // The server refused or dropped the user, and said why.
  'auth-failed',
  'throttled',
  'banned',
  'flood-disconnect',
  'nick-in-use',
  'nick-rejected',
  'join-refused',
  'channel-full',
  'auditorium-no-host',
  'subscription-terminated',
  'server-error',
  'protocol-error',
  // On imload's side.
  'send-failed',
  'config-error',
  'unsupported',
  // The engine's own (never an AgentError from an agent): operations, scripts, schedule.
  'logon-failed',
  'join-failed',
  'presence-failed',
  'logoff-failed',
  'send-rejected',
  'sender-offline',
  'not-logged-on',
  'expect-timeout',
  'script-error',
  // Teardown only (docs/metrics.md § Teardown): operations imload's own stop cut off.
  'logon-cancelled',
  'send-cancelled',
  'logoff-cut-off',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

const KINDS: ReadonlySet<string> = new Set(ERROR_KINDS);

export function isErrorKind(value: string): value is ErrorKind {
  return KINDS.has(value);
}

/** The kind of "no answer in time" for an operation: `logon` → `logon-timeout`. */
export function timeoutKind(operation: Operation): ErrorKind {
  return `${operation}-timeout`;
}

/**
 * A failure an agent raises from an operation; `kind` uses the same categories as
 * `VuEvents.error`. `code` is the protocol's own code for it, when it has one (IRC numeric,
 * SIP/RVP status, socket errno), also written at the head of the message's detail.
 */
export class AgentError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly endpoint?: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

/** Where the socket stood when it failed. */
export interface SocketPhase {
  /** Not yet connected: for TLS, before the handshake completed (`secureConnect`). */
  readonly connecting: boolean;
  /** The operation waiting on the socket, if any: names an ETIMEDOUT on an open connection. */
  readonly operation?: Operation;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const SOURCE_CODES = new Set(['EADDRNOTAVAIL', 'EADDRINUSE']);
/** OpenSSL's X509_V_ERR names, which Node uses as `code` for a failed verification. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/**
 * Whether a socket error is TLS's own: a handshake OpenSSL refused (`ERR_SSL_*`, an alert, a
 * plain-text server) or a certificate that failed verification. Decided by the error's code,
 * never by its wording: a reset or close that happens on a TLS socket (even mid-handshake, which
 * Node words "…before secure TLS connection was established") is the connection's failure.
 */
export function isTlsError(error: NodeJS.ErrnoException & { library?: string }): boolean {
  const code = error.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return false;
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || CERTIFICATE_CODES.has(code) || error.library === 'SSL routines'
    || (code === 'EPROTO' && /SSL|TLS/.test(error.message));
}

/**
 * The kind of a socket, TLS or DNS error (Node's `error` event on a net or tls socket), the same
 * in every agent:
 * - ENOTFOUND, EAI_* → dns-error; ECONNREFUSED → connect-refused;
 * - ECONNRESET, EPIPE (a write that met the reset), ECONNABORTED → connection-reset, on a TLS
 *   socket too;
 * - ETIMEDOUT (and a TLS handshake timeout) while connecting → connect-timeout; on an open
 *   connection → the waiting operation's timeout, or connection-reset when none was waiting
 *   (the kernel gave the connection up);
 * - a TLS handshake or certificate failure → tls-error;
 * - EADDRNOTAVAIL, EADDRINUSE (binding the source address) → source-address;
 * - anything else (EHOSTUNREACH, EMFILE, …) → socket-error, the errno in the detail.
 */
export function classifySocketError(error: NodeJS.ErrnoException, phase: SocketPhase): ErrorKind {
  const code = error.code ?? '';
  if (code === 'ECONNREFUSED') return 'connect-refused';
  if (RESET_CODES.has(code)) return 'connection-reset';
  if (DNS_CODES.has(code)) return 'dns-error';
  if (code === 'ETIMEDOUT' || code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
    if (phase.connecting) return 'connect-timeout';
    return phase.operation === undefined ? 'connection-reset' : timeoutKind(phase.operation);
  }
  if (SOURCE_CODES.has(code)) return 'source-address';
  if (isTlsError(error)) return 'tls-error';
  return 'socket-error';
}

/** The detail for a socket error: its code and Node's message (`ECONNRESET: read ECONNRESET`). */
export function socketErrorDetail(error: NodeJS.ErrnoException): string {
  const code = error.code;
  return code === undefined || error.message.startsWith(code) ? error.message : `${code}: ${error.message}`;
}
