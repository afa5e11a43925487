/**
 * Module hooks for scenario modules (registered by ./module.ts, in the CLI and in each worker).
 *
 * - A `.ts` scenario is an ES module wherever it lives: a user's folder seldom has a
 *   package.json saying `"type": "module"`, and without one Node (and loaders) read `.ts` as
 *   CommonJS, which fails on the scenario's `import` ("Cannot require() ES Module … in a cycle").
 * - Its types are stripped here, by sucrase (pure JavaScript, no install script), on every Node
 *   version: Node 20 strips none, and one stripper everywhere keeps a scenario's meaning the
 *   same (unused imports elided as tsc and tsx do, enums allowed). Lines keep their numbers, so
 *   a stack trace points at the scenario's own line. imload's own sources (src/, in the
 *   repository checkout) are left to tsx; files under node_modules to their packages.
 * - A relative import may name the TypeScript file (`./helper.ts`, as Node's own stripping needs)
 *   or its `.js` (as tsc's nodenext resolution needs); both load the `.ts`.
 * - `imload/api` resolves to the running imload when the user's folder has no imload installed,
 *   so a scenario runs without an install; editors still need one for the types (user guide).
 */
import { readFileSync } from 'node:fs';
import type { LoadHook, ResolveHook } from 'node:module';
import { fileURLToPath } from 'node:url';

const SELF_API = 'imload/api';
const TYPESCRIPT = /\.m?ts$/;
/** imload's own code: src/ (the checkout, run by tsx) or dist/ (compiled); `..` of this file. */
const OWN_CODE = new URL('..', import.meta.url).href;

/** A TypeScript module this hook strips: a user's, not imload's own nor a package's. */
function isUserTypeScript(url: string): boolean {
  return url.startsWith('file:') && TYPESCRIPT.test(url) && !url.startsWith(OWN_CODE) && !url.includes('/node_modules/');
}

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  let resolved;
  try {
    resolved = await nextResolve(specifier, context);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    // `import './helper.js'` naming helper.ts, as tsc's nodenext resolution has it written.
    if (/^\.\.?\/.*\.m?js$/.test(specifier) && context.parentURL !== undefined && isUserTypeScript(context.parentURL)) {
      return resolve(specifier.replace(/js$/, 'ts'), context, nextResolve);
    }
    if (specifier !== SELF_API) throw error;
    // The running imload's own API: ../api.js beside this file in dist/, or ../api.ts through
    // tsx in the checkout's src/ (where the package's exports name a dist/ that is not built).
    resolved = await nextResolve(new URL('../api.js', import.meta.url).href, context);
  }
  if (isUserTypeScript(resolved.url)) return { ...resolved, format: 'module' };
  return resolved;
};

let transform: typeof import('sucrase').transform | undefined;

export const load: LoadHook = async (url, context, nextLoad) => {
  if (!isUserTypeScript(url)) return nextLoad(url, context);
  // Loaded on the first TypeScript scenario only: `imload --help` and YAML runs never pay for it.
  transform ??= (await import('sucrase')).transform;
  const filePath = fileURLToPath(url);
  const { code } = transform(readFileSync(filePath, 'utf8'), {
    transforms: ['typescript'],
    filePath,
    // Node ≥ 20 runs today's syntax itself: strip types only, as tsc would emit for ES2022.
    disableESTransforms: true,
  });
  return { format: 'module', source: code, shortCircuit: true };
};
