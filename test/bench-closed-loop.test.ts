/**
 * bench/closed-loop.ts and bench/percentile.ts: the latency percentiles every closed-loop bench prints (the
 * ledger's submits, unary Attest, the raw echo). A failed call was a client not served: it ranks slower than any
 * success, so failures cannot make a tail look short by leaving it.
 */
import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../bench/closed-loop.ts';
import { percentile, percentileOf } from '../bench/percentile.ts';

describe('percentile', () => {
  it('is the nearest rank: the sample at ⌊p% of n⌋ of the sorted samples', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 50)).toBe(51);
    expect(percentile(hundred, 99)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    const ten = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(percentile(ten, 95)).toBe(10);
    // ⌊2.5⌋: the rank rounds down.
    expect(percentile(ten, 25)).toBe(3);
    expect(percentile([3], 99)).toBe(3);
    expect(percentile([], 50)).toBeNaN();
  });

  it('sorts samples given in any order by value, not as text', () => {
    expect(percentileOf([10, 9, 100, 2], 50)).toBe(10);
    expect(percentileOf([10, 9, 100, 2], 99)).toBe(100);
  });
});

describe('runClosedLoop', () => {
  const options = { concurrency: 4, maxOperations: 200, maxDurationMs: 30_000, signal: AbortSignal.timeout(60_000) };
  /** Succeeds after `ms` unless `fails(index)`; a failure ends at once (a refusal). */
  const operation = (fails: (index: number) => boolean) => async (index: number) => {
    if (fails(index)) return false;
    await new Promise((resolve) => setTimeout(resolve, 1));
    return true;
  };

  it('counts the failed calls and ranks them slowest: 2% failed puts p99 at Infinity', async () => {
    const result = await runClosedLoop(
      operation((i) => i % 50 === 7),
      options,
    );
    expect(result.failed).toBe(4);
    expect(result.succeeded).toBe(196);
    expect(result.p99Ms).toBe(Infinity);
    expect(result.p50Ms).toBeLessThan(1_000);
  });

  it('keeps a finite p99 when failures are fewer than 1% of the calls', async () => {
    const result = await runClosedLoop(
      operation((i) => i === 3),
      options,
    );
    expect(result.failed).toBe(1);
    expect(result.p99Ms).toBeLessThan(1_000);
    expect(result.p99Ms).toBeGreaterThan(0);
  });
});
