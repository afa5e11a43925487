/** Process exit codes, distinct per cause so CI can tell them apart (docs/user-guide.md). */
export const EXIT = {
  ok: 0,
  /**
   * The run finished but a threshold failed, or `compare` found a regression: k6's convention, so
   * CI can tell a failed gate from any other failure (npm and Node exit 1 for anything).
   */
  thresholdsFailed: 99,
  /** Bad input: scenario file, command-line value, journal. */
  badInput: 2,
  /** The run could not start: endpoint unreachable, lab server missing or not ready. */
  couldNotStart: 3,
  /** imload itself failed (a bug): the message says where to report it. */
  internalError: 4,
  /** The lab needs what this host lacks: root and network namespaces (`imload plan --lab`). */
  labUnavailable: 5,
  /** Interrupted by Ctrl-C / SIGTERM; every output was still written. */
  interrupted: 130,
} as const;

/** An error that already knows its exit code and a user-facing message (no stack trace). */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}
