/** Waiting on the wall clock, for the coordinator's once-a-second journal and the workers' snapshots. */

export const delay = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves at `epochMs` (Date.now() time), or as soon as `signal` aborts. */
export function sleepUntil(epochMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, epochMs - Date.now()));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Keeps journaling one entry per second while the workers log off (a ramp-down cut short, a
 * logoff storm), so the stop is not folded into one "second" that spans many and inflates the
 * last point's rates. Ends when every worker is done (`allDone`) or `graceMs` is up; the caller
 * then folds what arrived since the last tick, less than a second's worth.
 */
export async function drainWhileStopping(allDone: Promise<void>, graceMs: number, nextTickAt: () => number, flush: () => void): Promise<void> {
  const deadline = Date.now() + graceMs;
  const finished = new AbortController();
  void allDone.then(() => finished.abort());
  while (!finished.signal.aborted && Date.now() < deadline) {
    await sleepUntil(Math.min(nextTickAt(), deadline), finished.signal);
    if (finished.signal.aborted || Date.now() >= deadline) return;
    // Snapshots the workers sent at the tick get a moment to arrive, as in the main loop.
    await delay(50);
    flush();
  }
}

/**
 * Calls `tick` at every whole period of a clock started at `startMs` (read with `now`), from the
 * next one on, until the returned function is called. Each call is scheduled afresh from the
 * clock: a setInterval schedules a call from the moment the last one ran, so lateness adds up (~2 ms
 * a second on a busy event loop, 66 ms after 30 s in a scratch test) — the workers' snapshots then
 * reached the coordinator after its 50 ms wait, and the journal's seconds got alternately none and
 * two seconds' figures (a 128 kbit/s link read 22 KB in one second). A stall longer than a period
 * skips the boundaries it missed; no boundary is served twice.
 */
export function onEveryPeriod(startMs: number, periodMs: number, now: () => number, tick: () => void): () => void {
  let due = Math.floor((now() - startMs) / periodMs) + 1;
  let timer: NodeJS.Timeout;
  // A stop from inside `tick` comes before the next call is scheduled: without this it would
  // clear the timer that already fired and the next one would run on for ever (it held a test
  // process open until CI's time ran out).
  let stopped = false;
  const schedule = (): void => {
    timer = setTimeout(() => {
      tick();
      if (stopped) return;
      due = Math.max(due + 1, Math.floor((now() - startMs) / periodMs) + 1);
      schedule();
    }, Math.max(0, startMs + due * periodMs - now()));
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
