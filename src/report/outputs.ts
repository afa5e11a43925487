/** Writes a run folder's derived outputs from its summary (the journal is written as the run goes). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Summary } from './summary.js';

export async function writeRunOutputs(runDir: string, summary: Summary): Promise<void> {
  writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
}
