/** The transport seam: what a user agent sends through and what transports deliver to. */
import type { SipMessage, SipParseError } from './message.js';
import type { ErrorKind } from '../errors.js';

export type SipTransportName = 'UDP' | 'TCP' | 'TLS';

export interface SipChannel {
  readonly transport: SipTransportName;
  /** TCP/TLS: no retransmissions (RFC 3261 § 17.1.2.2 Timer E only on unreliable transports). */
  readonly reliable: boolean;
  /** The local address peers must send to (Via sent-by, Contact). */
  readonly localHost: string;
  readonly localPort: number;
  /** Returns false when the channel is closed and nothing was sent. */
  send(data: Buffer): boolean;
  close(): void;
}

export interface SipReceiver {
  /** A message for this user, or a parse error for bytes that were addressed to it. */
  receive(message: SipMessage | SipParseError, wireBytes: number): void;
  /**
   * Stream transports: the connection closed (not called after `close()`); `kind` is how
   * (connection-reset, unexpected-close, … as classified), `code` the socket error's, if any.
   */
  closed(reason: string, kind: ErrorKind, code?: string): void;
}

/** Branch parameters start with the RFC 3261 magic cookie; ours then carry the user's index. */
export const BRANCH_COOKIE = 'z9hG4bK';

/**
 * The user index encoded in one of our branches (`z9hG4bK<index36>.<rest>`), so a shared UDP
 * socket can hand a response to its user without a branch table.
 */
export function userIndexFromBranch(branch: string | undefined): number | undefined {
  if (branch === undefined || !branch.startsWith(BRANCH_COOKIE)) return undefined;
  const dot = branch.indexOf('.', BRANCH_COOKIE.length);
  if (dot === -1) return undefined;
  const index = Number.parseInt(branch.slice(BRANCH_COOKIE.length, dot), 36);
  return Number.isSafeInteger(index) ? index : undefined;
}
