/** The one percentile every bench reports: nearest rank, the sample at ⌊p% of n⌋ of the sorted samples (0-based). */

/** The `p`th percentile (0–100) of `sorted` (ascending); NaN when there is no sample. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** The `p`th percentile of `samples` in any order. */
export function percentileOf(samples: readonly number[], p: number): number {
  return percentile(
    [...samples].sort((a, b) => a - b),
    p,
  );
}
