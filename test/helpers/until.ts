/**
 * Waits for a condition that another party (a server, a proxy) makes true in its own time,
 * re-checking every `everyMs`; fails naming `what` if it does not hold within `timeoutMs`.
 */
export async function until(check: () => boolean, what: string, timeoutMs = 3000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
