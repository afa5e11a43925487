/**
 * Compaction of V8's old space in imload's own processes. A full collection frees garbage but
 * keeps the pages it was spread over (compacting only the most fragmented); those pages stay in
 * RSS. Compacting moves what survived into as few pages as it fits and gives the rest back, at
 * the price of a longer pause. V8 reads `--compact-on-every-full-gc` at each collection, so
 * setting it while the process runs takes effect from the next. A process started with its own
 * choice of that flag (IMLOAD_WORKER_NODE_FLAGS for the workers, node's own flags for the
 * coordinator) keeps it.
 */
import { setFlagsFromString } from 'node:v8';

const COMPACTION_FLAG = /^--(no-)?compact[-_]on[-_]every[-_]full[-_]gc\b/;

function compactionChosen(): boolean {
  return process.execArgv.some((flag) => COMPACTION_FLAG.test(flag));
}

/** Every full collection from now on compacts (the coordinator: docs/decisions.md). */
export function compactEveryFullCollection(): void {
  if (!compactionChosen()) setFlagsFromString('--compact-on-every-full-gc');
}

/** Runs `gc` (a full collection) compacting, then leaves compaction to V8 again (a worker's ramp's end). */
export function compactingCollection(gc: () => void): void {
  if (compactionChosen()) return gc();
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}
