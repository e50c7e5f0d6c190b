/**
 * The arithmetic behind two kinds of bench figures: soak's growth per million records (bench/soak.bench.ts
 * leastSquaresFit, with its standard error and residual spread) and every limit's CPU per unit
 * (bench/machine-limits.ts perUnit). Checked against values worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { perUnit } from '../bench/machine-limits.ts';
import { leastSquaresFit } from '../bench/soak.bench.ts';

describe('leastSquaresFit', () => {
  it('gives an exact line with no residual', () => {
    const fit = leastSquaresFit([0, 1, 2, 3, 4].map((x) => [x, 2 * x + 1] as const));
    expect(fit.slope).toBeCloseTo(2, 12);
    expect(fit.residualSd).toBeCloseTo(0, 12);
    expect(fit.standardError).toBeCloseTo(0, 12);
  });

  it('gives the slope, its standard error and the residual spread of scattered points', () => {
    // Mean (1.5, 1.25); Σdx·dy = 4.5, Σdx² = 5: slope 0.9; residuals 0.1, 0.2, −0.7, 0.4 (Σ² = 0.7 over n − 2 = 2).
    const fit = leastSquaresFit([
      [0, 0],
      [1, 1],
      [2, 1],
      [3, 3],
    ]);
    expect(fit.slope).toBeCloseTo(0.9, 12);
    expect(fit.residualSd).toBeCloseTo(Math.sqrt(0.35), 12);
    expect(fit.standardError).toBeCloseTo(Math.sqrt(0.35 / 5), 12);
  });

  it('has no slope without two distinct x, and no spread from two points', () => {
    expect(
      leastSquaresFit([
        [1, 2],
        [1, 5],
      ]).slope,
    ).toBeNaN();
    const two = leastSquaresFit([
      [0, 1],
      [2, 5],
    ]);
    expect(two.slope).toBe(2);
    expect(two.standardError).toBeNaN();
  });
});

describe('perUnit', () => {
  it('turns CPU milliseconds into microseconds per unit, unknown where /proc could not tell', () => {
    expect(perUnit({ server: 10, client: undefined }, 4)).toEqual({ server: 2_500, client: undefined });
  });

  it('gives no figure for a phase that did nothing', () => {
    expect(perUnit({ server: 10 }, 0)).toEqual({ server: undefined });
  });
});
