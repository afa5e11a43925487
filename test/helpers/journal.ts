import { existsSync, readFileSync } from 'node:fs';
import type { JournalEntry, JournalSecond } from '../../src/metrics/journal.js';

/**
 * Resolves with the journal line index just after the first second after line `from` whose
 * online count matches — polling the file the run appends to every second, bounded by `timeoutMs`.
 */
export function journalShows(path: string, from: number, predicate: (online: number) => boolean, timeoutMs: number): Promise<number> {
  return journalUntil(path, from, (second) => predicate(second.online), timeoutMs);
}

/**
 * Like journalShows, for any condition on the journaled seconds: `predicate` sees each second
 * after line `from` in order (it may keep a running count across them).
 */
export async function journalUntil(path: string, from: number, predicate: (second: JournalSecond) => boolean, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = from;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const lines = readFileSync(path, 'utf8').split('\n');
      // The last element is empty or a line still being written.
      for (; seen < lines.length - 1; seen++) {
        const entry = JSON.parse(lines[seen]!) as JournalEntry;
        if (entry.type === 'second' && predicate(entry)) return seen + 1;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the journal never showed the expected state within ${timeoutMs} ms`);
}
