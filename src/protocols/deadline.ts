import { AgentError, type ErrorKind } from './errors.js';

/**
 * Settles as `promise` does, or rejects with AgentError(`kind`) once `ms` have passed; the timer
 * is cleared either way, so a settled operation leaves nothing behind to keep a worker alive.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, kind: ErrorKind, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AgentError(kind, `${what} did not complete within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
