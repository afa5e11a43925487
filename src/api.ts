/**
 * imload's public TypeScript API, for scenarios written as modules:
 *
 *   import { defineScenarios, type Vu } from 'imload/api';
 *   export default defineScenarios({ version: 1, targets: { ... }, scenarios: { ... } });
 *   export async function user(vu: Vu) { await vu.logon(); await vu.join('#sales'); ... }
 *
 * Run it with `imload run my-scenario.ts -s NAME`. The default export is validated by the same
 * schema as scenarios.yaml; `user` (optional) drives every user outside the YAML `groups`, in the
 * workers, with the user's own seeded randomness (`vu.random()`).
 */
import type { z } from 'zod';
import type { ScenarioFile } from './scenarios/schema.js';

export type { Vu, ExpectMessage, ExpectPresence } from './engine/vu-api.js';
export type { FlowStep, ThinkTime } from './scenarios/flow-schema.js';

/** What a scenario module's default export looks like (the input side of scenarios.yaml). */
export type ScenarioFileInput = z.input<typeof ScenarioFile>;

/** Identity function that gives editors the scenario types. */
export function defineScenarios(config: ScenarioFileInput): ScenarioFileInput {
  return config;
}
