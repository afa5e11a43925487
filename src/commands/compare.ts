/** `imload compare <baseline-dir> <run-dir>`: is the run worse than the baseline beyond noise? */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT, UserFacingError } from '../exit-codes.js';
import { readJournal, type JournalEntry } from '../metrics/journal.js';
import { CompareInputError, compareRuns, parseRegressionLimit, type RegressionLimit, type RunComparison } from '../report/compare.js';
import { repeatRunFolders } from '../report/repeat-summary.js';
import { comparisonJson, formatComparisonText, renderComparisonHtml } from '../report/compare-format.js';

export interface CompareCommandOptions {
  readonly baselineDir: string;
  readonly runDir: string;
  /** `metric=limit` strings from --max-regression. */
  readonly maxRegression?: readonly string[];
  readonly alpha?: number;
  /** HTML output file; default <run-dir>/compare.html. */
  readonly out?: string;
  /** Print the comparison as JSON (for pipelines) instead of the text table. */
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** A run folder's journal, or each run's of a repeat folder (`run --repeat`). */
function journalsOf(dir: string): JournalEntry[][] {
  const folders = repeatRunFolders(dir) ?? [dir];
  return folders.map((folder) => {
    const path = join(folder, 'journal.ndjson');
    if (!existsSync(path)) throw new UserFacingError(`${folder}: no journal.ndjson here (is it a run folder, or a repeat folder with its repeat-summary.json?)`, EXIT.badInput);
    return readJournal(path);
  });
}

/** Returns the exit code: 99 on a regression, 0 otherwise (bad input throws with code 2). */
export async function compareCommand(options: CompareCommandOptions): Promise<{ exitCode: number; comparison: RunComparison; htmlPath: string }> {
  const limits = new Map<string, RegressionLimit>();
  try {
    for (const text of options.maxRegression ?? []) {
      const { metric, limit } = parseRegressionLimit(text);
      limits.set(metric, limit);
    }
  } catch (error) {
    if (error instanceof CompareInputError) throw new UserFacingError(error.message, EXIT.badInput);
    throw error;
  }
  if (options.alpha !== undefined && !(options.alpha > 0 && options.alpha < 1)) {
    throw new UserFacingError(`--alpha must be between 0 and 1 (got ${options.alpha})`, EXIT.badInput);
  }
  const comparison = compareRuns(journalsOf(options.baselineDir), journalsOf(options.runDir), { limits, alpha: options.alpha });
  const htmlPath = resolve(options.out ?? join(options.runDir, 'compare.html'));
  writeFileSync(htmlPath, renderComparisonHtml(comparison));
  if (options.json) process.stdout.write(`${JSON.stringify(comparisonJson(comparison, htmlPath), null, 2)}\n`);
  else if (!options.quiet) process.stdout.write(`${formatComparisonText(comparison)}\ncomparison written to ${htmlPath}\n`);
  return { exitCode: comparison.regressions.length > 0 ? EXIT.thresholdsFailed : EXIT.ok, comparison, htmlPath };
}
