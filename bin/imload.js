#!/usr/bin/env node
// An installed package runs the compiled JavaScript in dist/ (built by `npm pack`; no tsx, no
// esbuild). The repository checkout, which has src/ and never ships it, runs the TypeScript
// sources through tsx (a devDependency) so a fresh clone needs no build step and a stale dist/
// left by `npm pack` is never what runs. docs/packaging.md.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli.js');
}
