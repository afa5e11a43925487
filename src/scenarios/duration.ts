/** Durations in scenario files: seconds as a number, or 500ms, 30s, 2m, 1h; parsed to ms. */
import { z } from 'zod';

export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "500ms", "30s", "2m", "1h" or a number of seconds into milliseconds. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const match = DURATION_PATTERN.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** A duration: seconds as a number, or a string with a unit (500ms, 30s, 2m, 1h); parsed to ms. */
export const Duration = z
  .union([
    z.number().nonnegative(),
    z.string().regex(DURATION_PATTERN, 'expected a duration like 500ms, 30s, 2m or 1h (or seconds as a number)'),
  ])
  .transform(durationMs);

