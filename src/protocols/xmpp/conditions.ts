/** XMPP error conditions in the shared taxonomy (src/protocols/errors.ts); no I/O, cheap to import. */
import type { ErrorKind } from '../errors.js';

/** A `<stream:error>` condition (RFC 6120 § 4.9.3) in the shared taxonomy. */
export function streamErrorKind(condition: string): ErrorKind {
  switch (condition) {
    case 'policy-violation':
    case 'resource-constraint':
    case 'connection-timeout':
      return 'throttled';
    case 'not-authorized':
      return 'auth-failed';
    case 'system-shutdown':
    case 'internal-server-error':
    case 'remote-connection-failed':
    case 'reset':
      return 'server-error';
    default:
      return 'protocol-error';
  }
}
