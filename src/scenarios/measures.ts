/**
 * Checks a loaded scenario file against what each target's protocol measures: a threshold or a
 * limit-profile figure on a latency the protocol never produces could never be judged, so it is
 * an error; a contact list longer than the population allows is a warning. The protocols say
 * what they measure (the metric registry, from their descriptors); nothing here names one.
 */
import { METRICS, parseThresholdCheck } from '../protocols/metric-registry.js';
import { metricOf } from '../metrics/threshold-grammar.js';
import { findProfile } from './limits.js';
import { ScenarioError, type LoadedScenarioFile, type ScenarioPath, type ScenarioProblem } from './load.js';
import type { Scenario } from './schema.js';
import { parseTargetUrl } from './target.js';

/** Throws a ScenarioError listing every metric a target's protocol never produces; returns the warnings. */
export async function checkMeasures(loaded: LoadedScenarioFile): Promise<ScenarioProblem[]> {
  const { config, problemAt } = loaded;
  const problems: ScenarioProblem[] = [];
  const warnings: ScenarioProblem[] = [];
  for (const [name, scenario] of Object.entries(config.scenarios)) {
    const { protocol } = parseTargetUrl(config.targets[scenario.target]!.url);
    const unmeasured = (metric: string) => {
      const definition = metricOf(METRICS, metric);
      if (!definition || METRICS.produces(definition, protocol)) return undefined;
      const kind = definition.kind === 'latency' ? `${definition.name} latency` : definition.name;
      const measures = METRICS.latencies().filter((m) => m.threshold && METRICS.produces(m, protocol)).map((m) => m.name);
      return `${protocol} targets never produce ${kind}, so "${metric}" could never be measured (${protocol} measures ${measures.join(', ')})`;
    };
    scenario.thresholds.forEach((threshold, i) => {
      const check = parseThresholdCheck(typeof threshold === 'string' ? threshold : threshold.check);
      const problem = typeof check === 'string' ? undefined : unmeasured(check.metric);
      const path: ScenarioPath = ['scenarios', name, 'thresholds', i, ...(typeof threshold === 'string' ? [] : ['check'])];
      if (problem) problems.push(problemAt(path, problem));
    });
    const profile = scenario.limits ? findProfile(scenario.limits, config.profiles) : undefined;
    profile?.figures.forEach((figure, i) => {
      const problem = unmeasured(figure.metric);
      if (!problem) return;
      // A profile of the file is pointed at where it says it; a built-in one at the scenario naming it.
      const own = config.profiles[scenario.limits!] !== undefined;
      const path: ScenarioPath = own ? ['profiles', scenario.limits!, 'figures', i, 'metric'] : ['scenarios', name, 'limits'];
      problems.push(problemAt(path, `limit profile "${scenario.limits}", figure ${figure.id}: ${problem}`));
    });
    const short = shortContactLists(scenario);
    if (short) warnings.push(problemAt(['scenarios', name, 'population', 'contacts'], short));
  }
  if (problems.length > 0) throw new ScenarioError(problems.sort((a, b) => a.line - b.line || a.column - b.column));
  return warnings;
}

/**
 * Each user's contacts are other users, so `contacts` ≥ users gives every list `users - 1`
 * names, fewer than asked (and fewer messages and presence watchers than the figures suggest).
 */
export function shortContactLists(scenario: Scenario): string | undefined {
  const { users, contacts } = scenario.population;
  if (contacts < users) return undefined;
  return `${contacts} contacts with ${users} users: each contact list holds the ${users - 1} other users, fewer than asked`;
}
