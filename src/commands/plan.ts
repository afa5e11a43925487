/** `imload plan [plan-file]`: servers and WAN bandwidth for a population (docs/capacity.md). */
import { EXIT, UserFacingError } from '../exit-codes.js';
import { buildPlan } from '../capacity/plan.js';
import { PlanInputError, resolvePlanInput, type PlanFlags } from '../capacity/plan-input.js';
import { formatPlanText, planHtml } from '../capacity/plan-format.js';

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
