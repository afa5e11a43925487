/**
 * Scenarios written as TypeScript (or JavaScript) modules: the default export is checked by the
 * same schema as scenarios.yaml; an exported `user(vu)` function scripts the users.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScenarioFile } from './schema.js';
import { loadScenarioFile, ScenarioError, type LoadedScenarioFile } from './load.js';

export const MODULE_PATTERN = /\.(m?ts|m?js)$/;

export interface LoadedScenario extends LoadedScenarioFile {
  /** Set for a module that exports `user(vu)`: workers import it from here. */
  readonly scriptPath?: string;
}

export async function loadScenario(file: string): Promise<LoadedScenario> {
  if (!MODULE_PATTERN.test(file)) return loadScenarioFile(file);
  let module: { default?: unknown; user?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(file)).href)) as typeof module;
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
    scriptPath: typeof module.user === 'function' ? resolve(file) : undefined,
  };
}
