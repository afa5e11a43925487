/**
 * One error taxonomy for every protocol (docs/metrics.md § Errors): the same failure gets the
 * same kind whichever agent saw it, so reports compare across protocols.
 */
export const ERROR_KINDS = [
  'connect-refused',
  'connect-timeout',
  'connection-reset',
  'unexpected-close',
  'tls-error',
  'dns-error',
  'timeout',
  'auth-failed',
  'protocol-error',
  'throttled',
  'server-error',
  'send-failed',
  'config-error',
  'unsupported',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];
