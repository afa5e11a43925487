import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes a scenario file into a fresh temp folder; returns the file and the folder. */
export function writeScenario(text: string): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'imload-test-'));
  const file = join(dir, 'scenarios.yaml');
  writeFileSync(file, text);
  return { file, dir };
}
