/**
 * Module hooks for scenario modules (registered by ./module.ts, in the CLI and in each worker).
 *
 * - A `.ts` scenario is an ES module wherever it lives: a user's folder seldom has a
 *   package.json saying `"type": "module"`, and without one Node (and loaders) read `.ts` as
 *   CommonJS, which fails on the scenario's `import` ("Cannot require() ES Module … in a cycle").
 * - `imload/api` resolves to the running imload when the user's folder has no imload installed,
 *   so a scenario runs without an install; editors still need one for the types (user guide).
 */
import type { ResolveHook } from 'node:module';

const SELF = /^imload(\/|$)/;

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  let resolved;
  try {
    resolved = await nextResolve(specifier, context);
  } catch (error) {
    if (!SELF.test(specifier) || (error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    // The package's own exports, as imload itself would import them.
    resolved = await nextResolve(specifier, { ...context, parentURL: import.meta.url });
  }
  const format: string | null | undefined = resolved.format;
  const commonjs = format === 'commonjs' || format === 'commonjs-typescript';
  if (commonjs && /\.ts$/.test(resolved.url) && !resolved.url.includes('/node_modules/')) {
    return { ...resolved, format: 'module' };
  }
  return resolved;
};
