/** Mapping SIP outcomes onto the shared error kinds, and refresh timing shared by all bindings. */
import { AgentError, timeoutKind, type ErrorKind, type Operation } from '../errors.js';
import { parseSeconds } from './address.js';
import { TimerWheel } from '../timer-wheel.js';
import type { SipResponse } from './message.js';
import { SipTimeoutError, SipTransportError } from './transactions.js';

/** Error kind (docs/metrics.md § Error kinds) for a failure final response of `operation`. */
export function kindForStatus(status: number, operation: Operation): ErrorKind {
  if (status === 401 || status === 403 || status === 407) return 'auth-failed';
  if (status === 408) return timeoutKind(operation);
  if (status >= 500) return 'server-error';
  return 'protocol-error';
}

/**
 * An AgentError for a failed request `what` (e.g. `REGISTER`), part of the user's `operation`: a
 * final response (its status the error's code), a timeout (named by the operation) or a lost
 * transport (the kind its socket failure was classified as).
 */
export function agentErrorFor(what: string, outcome: SipResponse | unknown, endpoint: string, operation: Operation): AgentError {
  if (outcome instanceof AgentError) return outcome;
  if (outcome instanceof SipTimeoutError) return new AgentError(timeoutKind(operation), `${what}: ${outcome.message}`, endpoint);
  if (outcome instanceof SipTransportError) return new AgentError(outcome.kind, `${what}: ${outcome.message}`, endpoint, outcome.code);
  if (isResponse(outcome)) {
    // 503 with Retry-After: the server is shedding load and says when to come back (RFC 3261 § 21.5.4).
    const throttled = outcome.status === 503 && outcome.headers.get('Retry-After') !== undefined;
    const kind = throttled ? 'throttled' : kindForStatus(outcome.status, operation);
    return new AgentError(kind, `${what}: ${outcome.status} ${outcome.reason}`, endpoint, String(outcome.status));
  }
  return new AgentError('protocol-error', `${what}: ${String(outcome)}`, endpoint);
}

function isResponse(value: unknown): value is SipResponse {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'response';
}

/**
 * When to refresh a binding granted for `seconds`: 30 s early for long grants (room for a full
 * Timer F of 32 s is not needed on loopback, and 30 s is what Messenger did), half-way for short ones.
 */
export function refreshDelayMs(seconds: number): number {
  const early = seconds > 60 ? seconds - 30 : seconds / 2;
  return Math.max(1, early) * 1000;
}

let refreshes: TimerWheel | undefined;

/**
 * The process's wheel for refreshing registrations, publications and subscriptions: quarter-second
 * ticks (refreshes are due tens of seconds to an hour ahead), a turn of 68 minutes, and no hold
 * on the process (a run ends when its users do, not when their next refresh is due).
 */
export function refreshWheel(): TimerWheel {
  refreshes ??= new TimerWheel({ tickMs: 250, slots: 16_384, keepAlive: false });
  return refreshes;
}

/**
 * A 423 (Interval Too Brief) names the shortest expiry the server accepts in Min-Expires
 * (RFC 3261 § 10.2.8, RFC 6665 § 4.1.2.1, RFC 3903 § 4.2): the interval to retry with, if any.
 */
export function longerInterval(response: SipResponse, requested: number): number | undefined {
  if (response.status !== 423) return undefined;
  const minimum = parseSeconds(response.headers.get('Min-Expires'));
  return minimum !== undefined && minimum > requested ? minimum : undefined;
}
