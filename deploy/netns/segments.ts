/**
 * N generator "hosts" on one machine (root needed): the lab InspIRCd in a server network
 * namespace, segment i/N of the scenario in generator namespace i, then `imload merge`.
 *
 *   node --import tsx deploy/netns/segments.ts demo 3 [--file scenarios.yaml] [--out DIR] [-- imload run options]
 *
 * The namespaces (src/lab/netns.ts) are deleted before the script ends, also on Ctrl-C.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mergeCommand } from '../../src/commands/merge.js';
import { createTopology, runSegmentsInNamespaces, startLabInNamespace } from '../../src/lab/netns.js';
import { loadScenarioFile } from '../../src/scenarios/load.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { file: { type: 'string', default: 'scenarios.yaml' }, out: { type: 'string' } },
});
const [scenario, count, ...runArgs] = positionals;
if (!scenario || !/^\d+$/.test(count ?? '')) {
  process.stderr.write('usage: segments.ts <scenario> <N> [--file F] [--out DIR] [-- imload run options]\n');
  process.exit(2);
}
// Ctrl-C: exit through process.exit so the namespaces are deleted by netns.ts's exit hook.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

const file = resolve(values.file);
const target = loadScenarioFile(file).config.scenarios[scenario]?.target;
if (!target) {
  process.stderr.write(`${file}: no scenario named "${scenario}"\n`);
  process.exit(2);
}
const outDir = resolve(values.out ?? join('reports', `${scenario}-netns-${Date.now()}`));
const topology = createTopology({ generators: Number(count) });
let runDirs: string[];
try {
  const server = await startLabInNamespace(topology, 'inspircd');
  try {
    runDirs = (await runSegmentsInNamespaces(topology, { file, scenario, target, url: server.url, outDir, extraArgs: runArgs })).map((r) => r.runDir);
  } finally {
    await server.stop();
  }
} finally {
  topology.teardown();
}
const { exitCode } = await mergeCommand({ runDirs, out: join(outDir, 'merged') });
process.exitCode = exitCode;
