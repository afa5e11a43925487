import { readFileSync } from 'node:fs';

/** imload's own version, from package.json, recorded in every run for reproduction. */
export const IMLOAD_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
