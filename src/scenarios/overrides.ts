/** Command-line overrides of a scenario (--users, --duration, --time-scale, --seed, --target, --workers). */
import { EXIT, UserFacingError } from '../exit-codes.js';
import { EXAMPLE_TARGET_URL, TARGET_URL_PATTERN, type Scenario, type Target } from './schema.js';
import { DURATION_HINT, durationMs } from '../metrics/duration.js';

export interface Overrides {
  readonly users?: number;
  /** Hold duration ("90s", "1m30s", "10m" or seconds). */
  readonly duration?: string;
  readonly timeScale?: number;
  readonly seed?: number;
  /** NAME=URL pairs, e.g. chat=irc://chat.staging.example:6667 */
  readonly targets?: readonly string[];
  readonly workers?: number;
}

export function applyOverrides(
  scenario: Scenario,
  targets: Readonly<Record<string, Target>>,
  overrides: Overrides,
): { scenario: Scenario; targets: Record<string, Target> } {
  let result: Scenario = { ...scenario, population: { ...scenario.population } };
  if (overrides.users !== undefined) result.population.users = overrides.users;
  if (overrides.timeScale !== undefined) result = { ...result, timeScale: overrides.timeScale };
  if (overrides.seed !== undefined) result = { ...result, seed: overrides.seed };
  if (overrides.workers !== undefined) result = { ...result, workers: overrides.workers };
  if (overrides.duration !== undefined) {
    let ms: number;
    try {
      ms = durationMs(overrides.duration);
    } catch {
      throw new UserFacingError(`--duration: "${overrides.duration}" is not ${DURATION_HINT}`, EXIT.badInput);
    }
    const phases: Scenario['phases'] = result.phases.filter((p) => p.phase !== 'hold');
    const at = phases.findIndex((p) => p.phase === 'rampDown');
    phases.splice(at === -1 ? phases.length : at, 0, { phase: 'hold', duration: ms });
    result = { ...result, phases };
  }
  const resolved: Record<string, Target> = { ...targets };
  for (const pair of overrides.targets ?? []) {
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const url = pair.slice(eq + 1);
    if (eq <= 0 || !TARGET_URL_PATTERN.test(url)) {
      throw new UserFacingError(`--target: expected NAME=URL like chat=${EXAMPLE_TARGET_URL}, got "${pair}"`, EXIT.badInput);
    }
    const existing = resolved[name];
    if (!existing) {
      throw new UserFacingError(`--target: no target named "${name}" (targets: ${Object.keys(targets).join(', ')})`, EXIT.badInput);
    }
    // A URL given on the command line is used as is: it replaces the lab server too.
    resolved[name] = { ...existing, url, lab: undefined };
  }
  if (!resolved[result.target]) {
    throw new UserFacingError(`scenario target "${result.target}" is not defined under targets`, EXIT.badInput);
  }
  return { scenario: result, targets: resolved };
}
