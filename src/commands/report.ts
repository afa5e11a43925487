/** `imload report <run-dir>`: rebuild the outputs of a run from its journal, e.g. after kill -9. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, UserFacingError } from '../exit-codes.js';
import { writeRunOutputs } from '../report/outputs.js';
import { loadRunJournal } from '../report/report-model.js';
import { summarizeRunFolder } from '../analysis/run-summary.js';
import { brokenInvariants, formatBrokenInvariants } from '../analysis/invariants.js';
import { formatSummaryText } from '../report/text.js';

export async function reportCommand(runDir: string): Promise<void> {
  if (!existsSync(join(runDir, 'journal.ndjson'))) throw new UserFacingError(`${runDir}: no journal.ndjson here (is it a run folder?)`, EXIT.badInput);
  const journal = loadRunJournal(runDir);
  const summary = await summarizeRunFolder(runDir, journal?.entries);
  await writeRunOutputs(runDir, summary, journal);
  process.stdout.write(`${formatSummaryText(summary, runDir)}\n`);
  const broken = brokenInvariants(summary.invariants);
  if (broken.length > 0) throw new UserFacingError(formatBrokenInvariants(broken), EXIT.internalError);
}
