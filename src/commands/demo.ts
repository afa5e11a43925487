/** `imload demo`: every demo scenario against lab servers, one report each, then where they are. */
import { loadScenarioFile } from '../scenarios/load.js';
import { shippedFile } from '../runtime.js';
import { runCommand, type RunCommandOptions } from './run.js';

export async function demoCommand(file: string, options: Omit<RunCommandOptions, 'file' | 'scenario'> & { scenario?: string }): Promise<number> {
  file = shippedFile(file); // an empty folder runs the scenarios.yaml shipped with imload
  const { config } = loadScenarioFile(file);
  const names = options.scenario
    ? [options.scenario]
    : Object.keys(config.scenarios).filter((name) => name === 'demo' || name.startsWith('demo-'));
  const reports: string[] = [];
  let worst = 0;
  for (const name of names) {
    if (!options.quiet) process.stdout.write(`\n=== ${name}: ${config.scenarios[name]?.description ?? ''}\n`);
    // Each scenario is a run of its own with its own lab servers; a second run must not inherit --out.
    const { exitCode, runDir } = await runCommand({ ...options, file, scenario: name, lab: true, out: names.length > 1 && options.out ? `${options.out}/${name}` : options.out });
    reports.push(`${name}: ${runDir}${exitCode === 0 ? '' : ` (exit ${exitCode})`}`);
    worst = Math.max(worst, exitCode);
    if (exitCode === 130) break;
  }
  process.stdout.write(`\ndemo reports (open index.html in each):\n${reports.map((r) => `  ${r}`).join('\n')}\n`);
  return worst;
}
