/**
 * `imload replay <run-dir>`: the same users doing exactly what they did in a recorded run, at the
 * same relative times (or `--speed` times faster), against any compatible target. The replay's
 * report goes beside the original so `imload compare` can set them side by side.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, UserFacingError } from '../exit-codes.js';
import { readJournal, type JournalHeader } from '../metrics/journal.js';
import type { Scenario } from '../scenarios/schema.js';
import { runCommand, type RunCommandOptions } from './run.js';
import { MODULE_PATTERN } from '../scenarios/module.js';

export interface ReplayOptions {
  readonly targets?: readonly string[];
  readonly speed?: number;
  readonly lab?: boolean;
  readonly out?: string;
  readonly overwrite?: boolean;
  readonly allowRemote?: boolean;
  readonly quiet?: boolean;
  readonly signal?: AbortSignal;
}

export async function replayCommand(runDir: string, options: ReplayOptions): Promise<number> {
  const recording = join(runDir, 'events.ndjson.gz');
  if (!existsSync(recording)) {
    throw new UserFacingError(`${runDir}: no events.ndjson.gz (was the run made with --no-record?)`, EXIT.badInput);
  }
  const header = readJournal(join(runDir, 'journal.ndjson'))[0] as JournalHeader;
  const speed = options.speed ?? 1;
  // The scenario as it ran (overrides applied), from the file text it was read from.
  // A scenario module is imported from where it was (it imports imload/api); YAML is rewritten.
  let file = header.scenarioFile;
  if (!MODULE_PATTERN.test(file)) {
    if (!header.scenarioText) throw new UserFacingError(`${runDir}: the journal does not keep the scenario text; replay needs a newer run`, EXIT.badInput);
    file = join(mkdtempSync(join(tmpdir(), 'imload-replay-')), 'scenarios.yaml');
    writeFileSync(file, header.scenarioText);
  }
  const out = options.out ?? join(runDir, `replay-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`);
  const run: RunCommandOptions = {
    file,
    scenario: header.scenarioName,
    targets: options.targets,
    lab: options.lab,
    out,
    overwrite: options.overwrite,
    allowRemote: options.allowRemote,
    quiet: options.quiet,
    signal: options.signal,
    replay: { scenario: faster(header.scenario as Scenario, speed), path: recording, speed },
  };
  const { exitCode, runDir: replayDir } = await runCommand(run);
  if (!options.quiet) process.stdout.write(`\nreplay of ${runDir} at speed ${speed}: ${replayDir}\ncompare: imload compare ${runDir} ${replayDir}\n`);
  return exitCode;
}

/** The run's phases `speed` times faster, so its clock ends when the replayed users do. */
function faster(scenario: Scenario, speed: number): Scenario {
  return {
    ...scenario,
    faults: [],
    phases: scenario.phases.map((phase) => {
      switch (phase.phase) {
        case 'hold':
          return { ...phase, duration: phase.duration / speed };
        case 'stepSearch':
          return { ...phase, rate: phase.rate * speed, stepDuration: phase.stepDuration / speed };
        default:
          return { ...phase, rate: phase.rate * speed };
      }
    }),
  };
}
