/**
 * `imload run --repeat N`: the same seeded scenario run N times, each a whole run of its own in
 * `<out>/repeat-<i>/` (with --lab the lab server is started and stopped by each run, so every
 * repeat meets a fresh server), then repeat-summary.json and repeat-summary.md with each headline
 * figure as median, minimum and maximum. `imload compare` accepts the folder on either side.
 * Live outputs (`--out kind=target`) follow every repeat, labelled `repeat="<i>"`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT, UserFacingError } from '../exit-codes.js';
import { buildRepeatSummary, formatRepeatText, renderRepeatMarkdown, REPEAT_SUMMARY_FILE, type RepeatSummary } from '../report/repeat-summary.js';
import type { Summary } from '../analysis/summary.js';
import { claimRunFolder } from './run-folder.js';
import { createRunOutputs, runCommand, type RunCommandOptions } from './run.js';

/** Which exit code speaks for the repeats: the most serious one (interrupted, imload failed, gate failed). */
const EXIT_PRECEDENCE: readonly number[] = [EXIT.interrupted, EXIT.internalError, EXIT.thresholdsFailed];

export async function repeatCommand(options: RunCommandOptions & { readonly repeat: number }): Promise<{ exitCode: number; outDir: string; repeat: RepeatSummary }> {
  if (options.segment) throw new UserFacingError('--repeat runs the whole population; it cannot be combined with --segment', EXIT.badInput);
  // Every repeat would be told to start at the same instant, which has passed for all but the first.
  if (options.startAt !== undefined || options.startGate !== undefined) {
    throw new UserFacingError(`--repeat runs one run after another; it cannot be combined with ${options.startAt !== undefined ? '--start-at' : '--start-gate'}`, EXIT.badInput);
  }
  // A bad --out kind=target is refused before the repeats' folder is made (each repeat makes its own outputs).
  createRunOutputs(options.outputs);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const outDir = resolve(options.out ?? join('reports', `${stamp}-${options.scenario}-repeat${options.repeat}`));
  claimRunFolder(outDir, options.overwrite ?? false);
  mkdirSync(outDir, { recursive: true });

  const runs: Array<{ folder: string; exitCode: number; summary: Summary }> = [];
  for (let i = 1; i <= options.repeat; i++) {
    if (!options.quiet) process.stdout.write(`\n=== repeat ${i} of ${options.repeat}\n`);
    const folder = `repeat-${i}`;
    // Live outputs get a `repeat` label (each repeat is a run of its own, with its own run label too).
    const outputContext = { labels: { repeat: String(i) }, continuing: i > 1 };
    const { exitCode, result } = await runCommand({ ...options, out: join(outDir, folder), overwrite: false, outputContext });
    runs.push({ folder, exitCode, summary: result.summary });
    // An interrupted repeat (Ctrl-C) ends the series; the repeats done so far are still summarised.
    if (exitCode === EXIT.interrupted) break;
  }
  const command = `${runs[0]!.summary.reproduce.command} --repeat ${options.repeat}`;
  const repeat = buildRepeatSummary(options.repeat, command, options.lab ?? false, runs);
  writeFileSync(join(outDir, REPEAT_SUMMARY_FILE), `${JSON.stringify(repeat, null, 2)}\n`);
  writeFileSync(join(outDir, 'repeat-summary.md'), renderRepeatMarkdown(repeat));
  if (!options.quiet) process.stdout.write(`\n${formatRepeatText(repeat)}\n\nrepeats in ${outDir} (${REPEAT_SUMMARY_FILE}, repeat-summary.md)\n`);
  const exitCode = EXIT_PRECEDENCE.find((code) => runs.some((r) => r.exitCode === code)) ?? EXIT.ok;
  return { exitCode, outDir, repeat };
}
