/** A real server the lab started on loopback. Every lab module (IRC, SIP, RVP) returns one. */
export interface LabServer {
  /** Server software: 'inspircd', 'ngircd', 'kamailio', 'rvp-home', ... */
  readonly kind: string;
  /** Short name used in scenario targets and `imload lab status`. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Target URL as a scenario would name it, e.g. irc://127.0.0.1:6667 */
  readonly url: string;
  readonly pid: number;
  /** Working folder: generated config, logs, pid file. */
  readonly dir: string;
  /** Server version as the server reports it, when known. */
  readonly version?: string;
  /** The server process's open-file limit (caps how many clients one process can hold). */
  readonly fdLimit?: number;
  /** Stops the server by PID (TERM, then KILL after a grace period) and reaps it. */
  stop(): Promise<void>;
  /** Lets the server outlive this imload process (`imload lab up`); stop it later by PID. */
  keep?(): void;
}

/** Raised when a lab server cannot be started: binary missing, config rejected, never ready. */
export class LabError extends Error {
  constructor(
    message: string,
    readonly kind: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'LabError';
  }
}
