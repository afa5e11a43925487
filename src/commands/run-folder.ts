/**
 * A run folder holds one run. Writing a second run into a folder that already holds one would
 * append to its journal.ndjson, and every report built from it would mix the two runs, so a
 * folder that is not empty is refused unless the user asks for it to be emptied (--overwrite).
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, UserFacingError } from '../exit-codes.js';

/** Files only imload writes at the top of an output folder: --overwrite empties only such a folder. */
const IMLOAD_OUTPUT_MARKERS = ['journal.ndjson', 'repeat-summary.json'];

/**
 * Checks that `dir` is absent or empty (emptying an earlier run's folder with `overwrite`), or
 * throws (exit 2) saying why it cannot hold a new run. Creating it is left to the run, so a run
 * that fails to start leaves no empty folder behind.
 */
export function claimRunFolder(dir: string, overwrite: boolean): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UserFacingError(`--out ${dir} is a file, not a folder`, EXIT.badInput);
  const entries = readdirSync(dir);
  if (entries.length === 0) return;
  if (!overwrite) {
    throw new UserFacingError(
      `--out ${dir} is not empty (${describe(entries)}): a run folder holds one run; choose a new folder, or pass --overwrite to empty it first`,
      EXIT.badInput,
    );
  }
  // --overwrite deletes: only a folder imload itself wrote, never e.g. a project folder given by mistake.
  if (!IMLOAD_OUTPUT_MARKERS.some((name) => entries.includes(name))) {
    throw new UserFacingError(
      `--out ${dir} holds files imload did not write (no ${IMLOAD_OUTPUT_MARKERS.join(' or ')}; ${describe(entries)}): --overwrite empties only an earlier run's folder`,
      EXIT.badInput,
    );
  }
  for (const entry of entries) rmSync(join(dir, entry), { recursive: true, force: true });
}

function describe(entries: readonly string[]): string {
  const shown = [...entries].sort().slice(0, 3).join(', ');
  return `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}: ${shown}${entries.length > 3 ? ', ...' : ''}`;
}
