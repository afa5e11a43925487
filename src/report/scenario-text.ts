/**
 * The scenario as run, for the report's reproduce box: the journal holds it parsed, with every
 * duration in milliseconds ("duration: 20000"). Written back with units ("duration: 20s") it
 * reads as the person wrote it and still loads as a scenario (Duration accepts the form).
 *
 * Which fields are durations is read from the scenario schema itself (fields typed `Duration`),
 * so a new duration field needs no list here.
 */
import { stringify } from 'yaml';
import type { z } from 'zod';
import { Duration } from '../metrics/duration.js';
import { Scenario } from '../scenarios/schema.js';

const UNITS: ReadonlyArray<readonly [string, number]> = [['h', 3_600_000], ['m', 60_000], ['s', 1000]];

/** Milliseconds in the largest unit that divides them exactly: 20000 → "20s", 1500 → "1500ms". */
export function durationText(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of UNITS) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

interface SchemaDef {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly valueType?: z.ZodType;
}

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** `value` (parsed by `schema`) with each Duration field as text; everything else unchanged. */
export function withDurationUnits(schema: z.ZodType, value: unknown): unknown {
  if (schema === Duration) return typeof value === 'number' ? durationText(value) : value;
  const def = defOf(schema);
  if (def.innerType) return withDurationUnits(def.innerType, value);
  if (value === null || typeof value !== 'object') return value;
  if (def.type === 'array' && def.element && Array.isArray(value)) return value.map((v) => withDurationUnits(def.element!, v));
  if (def.type === 'record' && def.valueType) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withDurationUnits(def.valueType!, v)]));
  }
  if (def.type === 'union' && def.options) {
    // The option the parsed value came from is the one that still accepts it.
    const option = def.options.find((o) => o.safeParse(value).success);
    return option ? withDurationUnits(option, value) : value;
  }
  if (def.type === 'object' && def.shape) {
    const shape = def.shape;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape[k] ? withDurationUnits(shape[k], v) : v]));
  }
  return value;
}

/**
 * Texts already made, by journaled scenario object: the live page rebuilds the report each second
 * from one header, and YAML-stringifying its scenario was a sixth of a build (--cpu-prof, issue 20).
 */
const TEXTS = new WeakMap<object, string>();

/** The journaled scenario as YAML, durations with their units. */
export function scenarioText(scenario: unknown): string {
  if (typeof scenario !== 'object' || scenario === null) return stringify(withDurationUnits(Scenario, scenario));
  let text = TEXTS.get(scenario);
  if (text === undefined) TEXTS.set(scenario, (text = stringify(withDurationUnits(Scenario, scenario))));
  return text;
}
