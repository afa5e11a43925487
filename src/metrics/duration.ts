/**
 * Durations in scenario files and on the command line: seconds as a number, or parts with units
 * largest first, e.g. 250ms, 30s, 2m, 1h, 1m30s, 1h5m, 2m30.5s; parsed to ms.
 */
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const UNITS_LARGEST_FIRST = ['h', 'm', 's', 'ms'];
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

export const DURATION_HINT = 'a duration like 250ms, 30s, 2m, 1h or 1m30s (or seconds as a number)';

/**
 * Milliseconds in "1h5m", "1m30s", "250ms", ..., or undefined when the text is not a duration.
 * Each unit at most once, largest first, so "30s1m" and "1m1m" are mistakes rather than sums.
 */
export function parseDurationText(text: string): number | undefined {
  let ms = 0;
  let previousUnit = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) return undefined;
    const unit = UNITS_LARGEST_FIRST.indexOf(match[2]!);
    if (unit <= previousUnit) return undefined;
    previousUnit = unit;
    ms += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return previousUnit === -1 ? undefined : ms;
}

/** Parses a duration string (or a number of seconds, as a number or as text) into milliseconds. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const ms = /^\d+(?:\.\d+)?$/.test(value) ? Number(value) * 1000 : parseDurationText(value);
  if (ms === undefined) throw new Error(`"${value}" is not ${DURATION_HINT}`);
  return ms;
}

/** A duration: seconds as a number, or a string with units (250ms, 30s, 1m30s, 1h); parsed to ms. */
export const Duration = z
  .union([
    z.number().nonnegative(),
    z.string().refine((text) => parseDurationText(text) !== undefined, `expected ${DURATION_HINT}`),
  ])
  .transform(durationMs);
