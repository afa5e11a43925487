#!/usr/bin/env node
// `npm run build` (and `npm pack` through prepack): compiles src/ to dist/ (JavaScript + .d.ts)
// with tsconfig.build.json, from an empty dist/ so a removed source file ships no stale module.
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: new URL('..', import.meta.url),
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
