#!/usr/bin/env node
// Builds imload's UDP addon (native/udp/imload_udp.c → native/udp/build/imload_udp.node) with the
// system's C compiler against this Node's own headers: no node-gyp, no download. Run by
// `imload lab install` (the README's set-up step), by `npm run build:native`, and by hand in an
// installed package (`node node_modules/imload/scripts/build-native.mjs`). Not an npm lifecycle
// script: npm 11 blocks and warns about a package's install scripts unless the user approves them.
//
// Without a compiler or Node's headers the addon is simply not built: imload then uses node:dgram
// for SIP over UDP (slower per datagram, the same behaviour) and says so in a run's notes. With
// `--required` a failed build is an error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const required = process.argv.includes('--required');
const root = fileURLToPath(new URL('..', import.meta.url));
const source = join(root, 'native', 'udp', 'imload_udp.c');
const output = join(root, 'native', 'udp', 'build', 'imload_udp.node');

function skip(why) {
  const message = `imload: the UDP addon was not built (${why}); SIP over UDP will use node:dgram.`;
  if (required) {
    console.error(`${message} --required: failing.`);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}

if (process.platform !== 'linux') skip(`recvmmsg is Linux's; this is ${process.platform}`);
// Where Node's installers put its headers: <prefix>/include/node beside <prefix>/bin/node.
const headers = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'].find((dir) =>
  existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'uv.h')),
);
if (headers === undefined) skip("Node's C headers (node_api.h, uv.h) are not installed beside this Node");
const compiler = process.env.CC ?? 'cc';
mkdirSync(dirname(output), { recursive: true });
// Built under a temporary name and moved into place, so a failed build leaves no half-written addon.
const partial = `${output}.${process.pid}.tmp`;
const result = spawnSync(compiler, ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-shared', '-fPIC', `-I${headers}`, '-o', partial, source], { stdio: ['ignore', 'inherit', 'inherit'] });
if (result.error !== undefined) skip(`${compiler}: ${result.error.message}`);
if (result.status !== 0) skip(`${compiler} exited with ${result.status}`);
renameSync(partial, output);
console.log(`imload: built ${output.slice(root.length)}`);
