/** `imload report <run-dir>`: rebuild the outputs of a run from its journal, e.g. after kill -9. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, UserFacingError } from '../exit-codes.js';
import { readJournal } from '../metrics/journal.js';
import { writeRunOutputs } from '../report/outputs.js';
import { buildSummary } from '../report/summary.js';
import { formatSummaryText } from '../report/text.js';

export async function reportCommand(runDir: string): Promise<void> {
  const journal = join(runDir, 'journal.ndjson');
  if (!existsSync(journal)) throw new UserFacingError(`${runDir}: no journal.ndjson here (is it a run folder?)`, EXIT.badInput);
  const { summary } = buildSummary(readJournal(journal));
  await writeRunOutputs(runDir, summary);
  process.stdout.write(`${formatSummaryText(summary, runDir)}\n`);
}
