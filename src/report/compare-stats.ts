/**
 * Mann-Whitney U (Wilcoxon rank-sum) test on two runs' per-second samples. Per-second interval
 * p99s and rates are far from normal (spiky, bounded at 0), so a rank test is the fair choice.
 * Uses the normal approximation with a tie correction; fine from about 5 samples per side.
 */
import { errorFunction } from 'simple-statistics';

export const MIN_SAMPLES_FOR_TEST = 5;

export interface RankSumResult {
  readonly u: number;
  readonly z: number;
  /** One-sided p-value for "the second sample tends to be larger than the first". */
  readonly pGreater: number;
  /** One-sided p-value for "the second sample tends to be smaller than the first". */
  readonly pLess: number;
}

/** Returns null when either side has fewer than MIN_SAMPLES_FOR_TEST samples. */
export function rankSumTest(first: readonly number[], second: readonly number[]): RankSumResult | null {
  const n1 = first.length;
  const n2 = second.length;
  if (n1 < MIN_SAMPLES_FOR_TEST || n2 < MIN_SAMPLES_FOR_TEST) return null;
  const pooled = [...first.map((value) => ({ value, second: false })), ...second.map((value) => ({ value, second: true }))].sort((a, b) => a.value - b.value);
  const n = pooled.length;
  let rankSumSecond = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && pooled[j + 1]!.value === pooled[i]!.value) j++;
    const averageRank = (i + j) / 2 + 1;
    const ties = j - i + 1;
    tieTerm += ties ** 3 - ties;
    for (let k = i; k <= j; k++) if (pooled[k]!.second) rankSumSecond += averageRank;
    i = j + 1;
  }
  const u = rankSumSecond - (n2 * (n2 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, z: 0, pGreater: 1, pLess: 1 }; // every sample equal: no evidence either way
  // Continuity correction of 0.5 towards the mean.
  const z = (u - mean - Math.sign(u - mean) * 0.5) / Math.sqrt(variance);
  return { u, z, pGreater: normalCdf(-z), pLess: normalCdf(z) };
}

/** Standard normal CDF from the error function (simple-statistics' table stops at 3 decimals). */
function normalCdf(z: number): number {
  return 0.5 * (1 + errorFunction(z / Math.SQRT2));
}
