/**
 * How imload runs its own code: compiled JavaScript from dist/ in an installed package, or the
 * TypeScript sources through tsx in the repository checkout (bin/imload.js picks; docs/packaging.md).
 * Every process imload starts from one of its own files (the engine's workers, the RVP lab
 * server, the netns lab helper) is started through entryPoint(), so the child runs the same way
 * as its parent.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** True when this process runs the TypeScript sources (src/, through tsx), false when dist/. */
export const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * The file and Node flags that start one of imload's own modules in a child process:
 * `entryPoint(new URL('./worker.js', import.meta.url))` is worker.js beside a compiled caller, or
 * worker.ts with tsx loaded (resolved from imload's own folder, not the user's) beside a source one.
 */
export function entryPoint(url: URL | string): { file: string; execArgv: string[] } {
  const path = fileURLToPath(url).replace(/\.(m?[jt]s)$/, '');
  if (!FROM_SOURCE) return { file: `${path}.js`, execArgv: [] };
  return { file: `${path}.ts`, execArgv: ['--import', import.meta.resolve('tsx')] };
}

/**
 * A file shipped with imload (e.g. `scenarios.yaml`) when the current folder has none of that
 * name: `imload demo` in an empty folder runs the packaged demo scenarios.
 */
export function shippedFile(name: string): string {
  if (existsSync(name)) return name;
  const shipped = fileURLToPath(new URL(`../${name}`, import.meta.url));
  return existsSync(shipped) ? shipped : name;
}
