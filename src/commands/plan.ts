/** `imload plan [plan-file]`: servers and WAN bandwidth for a population (docs/capacity.md). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, UserFacingError } from '../exit-codes.js';
import { buildPlan } from '../capacity/plan.js';
import { PlanInputError, resolvePlanInput, type PlanFlags } from '../capacity/plan-input.js';
import { formatPlanText, planHtml } from '../capacity/plan-format.js';
import { designPlanLab, formatPlanLabText, judgePlanLab, planLabHeadline, PlanLabError, type PlanLabResult } from '../capacity/plan-lab.js';
import { planLabSections } from '../capacity/plan-lab-html.js';
import { standalonePage } from '../report/page.js';
import { runSiteLab, SiteLabUnavailable } from '../lab/plan-lab.js';
import { NetnsError } from '../lab/netns.js';

export interface PlanOptions extends PlanFlags {
  readonly file?: string;
  readonly json?: boolean;
  readonly html?: boolean;
}

/** The plan as the chosen output: text table, JSON, or an HTML fragment. */
export function planCommand(options: PlanOptions): string {
  try {
    const plan = buildPlan(resolvePlanInput(options.file, options));
    if (options.json) return JSON.stringify(plan, null, 2);
    return options.html ? planHtml(plan) : formatPlanText(plan);
  } catch (error) {
    if (error instanceof PlanInputError) throw new UserFacingError(error.message, EXIT.badInput);
    throw error;
  }
}

export interface PlanLabCommandOptions extends PlanOptions {
  /** Users the lab runs (default 150). */
  readonly labUsers?: number;
  /** Wall seconds a session's activity is compressed into (default 30). */
  readonly labSeconds?: number;
  /** Largest |measured / predicted − 1| per link (default 0.1). */
  readonly tolerance?: number;
  /** Where the lab's scenario, runs and result (plan-lab.json) go (default reports/plan-lab-<time>). */
  readonly labOut?: string;
}

/**
 * `imload plan --lab`: the plan's placement built in network namespaces with shaped links, its
 * scenario run across them, each link's measured traffic against the plan's prediction, written
 * as plan-lab.json and plan-lab.html in the lab's directory (stdout: text, --json or --html). Exit 99
 * when a link is outside the tolerance, 5 when the host cannot build the lab, 3 when a
 * server or a segment run in it failed.
 */
export async function planLabCommand(options: PlanLabCommandOptions): Promise<{ output: string; exitCode: number }> {
  let plan;
  let design;
  try {
    plan = buildPlan(resolvePlanInput(options.file, options));
    design = designPlanLab(plan, { users: options.labUsers ?? 150, activitySeconds: options.labSeconds ?? 30, tolerance: options.tolerance ?? 0.1 });
  } catch (error) {
    if (error instanceof PlanInputError || error instanceof PlanLabError) throw new UserFacingError(error.message, EXIT.badInput);
    throw error;
  }
  const outDir = options.labOut ?? `reports/plan-lab-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
  let run;
  try {
    run = await runSiteLab(design, { outDir });
  } catch (error) {
    if (error instanceof SiteLabUnavailable) throw new UserFacingError(error.message, EXIT.labUnavailable);
    // A server that would not start in its namespace, a segment run that did not complete: the lab's, said plainly.
    if (error instanceof NetnsError) throw new UserFacingError(`plan --lab: ${error.message}`, EXIT.couldNotStart);
    throw error;
  }
  const result = judgePlanLab(plan, design, run);
  const json = JSON.stringify(result, null, 2);
  const page = planLabPage(result);
  writeFileSync(join(outDir, 'plan-lab.json'), `${json}\n`);
  writeFileSync(join(outDir, 'plan-lab.html'), page);
  const output = options.json ? json : options.html ? page : `${formatPlanLabText(result)}\n  page: ${join(outDir, 'plan-lab.html')}`;
  return { output, exitCode: result.ok ? EXIT.ok : EXIT.thresholdsFailed };
}

/** plan-lab.html: the comparison in the report's look, readable without imload. */
export function planLabPage(result: PlanLabResult): string {
  return standalonePage({
    title: `imload plan --lab — ${result.ok ? 'agrees' : 'differs'}`,
    heading: 'Plan checked in the lab',
    sub: planLabHeadline(result),
    sections: planLabSections(result),
  });
}
