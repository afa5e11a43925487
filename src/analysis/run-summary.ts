/**
 * A run folder's summary: its journal's figures, with every lost delivery explained from its
 * events file (losses.ndjson written beside it). What `imload run` and `imload report` write.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal, type JournalEntry, type JournalFault } from '../metrics/journal.js';
import { buildSummary, type Summary } from './summary.js';
import { userName, WorkloadPlan } from '../scenarios/schedule.js';
import type { Scenario } from '../scenarios/schema.js';
import { analyseRecording } from './deliveries.js';
import { analyseFaultImpact } from './fault-impact.js';
import { splitWindows } from './netsplit.js';

export const LOSSES_FILE = 'losses.ndjson';

/** `entries`: the folder's journal, when the caller has read it already (a long run's journal is read once). */
export async function summarizeRunFolder(runDir: string, entries: readonly JournalEntry[] = readJournal(join(runDir, 'journal.ndjson'))): Promise<Summary> {
  const eventsPath = join(runDir, 'events.ndjson.gz');
  const header = entries[0]?.type === 'header' ? entries[0] : undefined;
  // One segment of a split population records only its own users' receipts: a delivery to
  // another segment's user would read as lost, so a segment speaks through its counters.
  if (!existsSync(eventsPath) || !header || (header.segment?.count ?? 1) > 1) return buildSummary(entries).summary;
  const faults = entries.filter((e): e is JournalFault => e.type === 'fault');
  // Two counters only: a RunAggregate here would decode every histogram for nothing.
  const total = (counter: 'duplicates' | 'misrouted') => entries.reduce((n, e) => n + (e.type === 'second' ? (e.counters[counter] ?? 0) : 0), 0);
  const analysis = await analyseRecording(eventsPath, {
    lossesPath: join(runDir, LOSSES_FILE),
    presentersOf: auditoriumPresenters(header.scenario as Scenario),
    duplicates: total('duplicates'),
    misrouted: total('misrouted'),
    splits: splitWindows(faults),
  });
  const scenario = header.scenario as Scenario;
  const faultImpacts = await analyseFaultImpact(eventsPath, faults, (index) => userName(scenario.population.namePattern, index));
  return buildSummary(entries, { deliveries: analysis?.deliveries, faultImpacts, splits: analysis?.splits }).summary;
}

/** Each auditorium's presenters by population index, from the scenario's deterministic plan. */
function auditoriumPresenters(scenario: Scenario): (channel: string) => ReadonlySet<number> | undefined {
  const auditoriums = scenario.population.auditoriums ?? [];
  if (auditoriums.length === 0) return () => undefined;
  const plan = new WorkloadPlan(scenario);
  const byName = new Map(auditoriums.map((a, i) => [a.name, new Set(plan.presenterIndices(i))]));
  return (channel) => byName.get(channel);
}
