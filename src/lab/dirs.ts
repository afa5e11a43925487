/** Where lab servers keep their generated configs, logs and pid files, and `imload lab` its state. */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function labBaseDir(): string {
  const base = join(tmpdir(), 'imload-lab');
  mkdirSync(base, { recursive: true });
  return base;
}
