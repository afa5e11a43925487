/**
 * Scenarios written as TypeScript (or JavaScript) modules: the default export is checked by the
 * same schema as scenarios.yaml; an exported `user(vu)` function scripts the users.
 */
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScenarioFile } from './schema.js';
import { loadScenarioFile, ScenarioError, type LoadedScenarioFile, type ScenarioProblem } from './load.js';
import { checkMeasures } from './measures.js';

export const MODULE_PATTERN = /\.(m?ts|m?js)$/;

let hooksRegistered = false;

/** Imports a scenario module (here and in the workers): `.ts` is ESM in any folder (./module-hooks.ts). */
export async function importScenarioModule(path: string): Promise<{ default?: unknown; user?: unknown }> {
  if (!hooksRegistered) {
    register(new URL('./module-hooks.js', import.meta.url));
    hooksRegistered = true;
  }
  return (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown; user?: unknown };
}

export interface LoadedScenario extends LoadedScenarioFile {
  /** Set for a module that exports `user(vu)`: workers import it from here. */
  readonly scriptPath?: string;
  /** What loads but will not do what it says (e.g. contact lists shorter than asked). */
  readonly warnings: readonly ScenarioProblem[];
}

/** Loads a scenario file (YAML or module) and checks it against what its targets' protocols measure. */
export async function loadScenario(file: string): Promise<LoadedScenario> {
  const loaded = MODULE_PATTERN.test(file) ? await loadScenarioModule(file) : loadScenarioFile(file);
  return { ...loaded, warnings: await checkMeasures(loaded) };
}

async function loadScenarioModule(file: string): Promise<LoadedScenarioFile & Pick<LoadedScenario, 'scriptPath'>> {
  let module: { default?: unknown; user?: unknown };
  try {
    module = await importScenarioModule(file);
  } catch (error) {
    throw new ScenarioError([{ file, line: 0, column: 0, path: '', message: `cannot load the module: ${(error as Error).message.split('\n')[0]}` }]);
  }
  const result = ScenarioFile.safeParse(module.default);
  if (!result.success) {
    throw new ScenarioError(
      result.error.issues.map((issue) => ({
        file,
        line: 0,
        column: 0,
        path: `default.${issue.path.map(String).join('.')}`,
        message: issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message,
      })),
    );
  }
  if (module.user !== undefined && typeof module.user !== 'function') {
    throw new ScenarioError([{ file, line: 0, column: 0, path: 'user', message: 'the exported user must be a function (vu) => Promise<void>' }]);
  }
  return {
    file,
    text: readFileSync(file, 'utf8'),
    config: result.data,
    // A module has no YAML positions: problems name the path under its default export.
    problemAt: (path, message) => ({ file, line: 0, column: 0, path: `default.${path.map(String).join('.')}`, message }),
    scriptPath: typeof module.user === 'function' ? resolve(file) : undefined,
  };
}
