import { describe, expect, it } from 'vitest';
import { BlockCutter } from './block-cutter.ts';

const envelope = (n: number) => new Uint8Array([n]);
const numbers = (batches: readonly Uint8Array[][]) => batches.map((b) => b.map((e) => e[0]));

// Fabric's rules (orderer/common/blockcutter/blockcutter.go), sizes given as its messageSizeBytes.
describe('BlockCutter', () => {
  const limits = { maxTransactions: 2, preferredMaxBytes: 100 };

  it('keeps an envelope pending while the batch is neither full nor over size', () => {
    const cutter = new BlockCutter(limits);
    const result = cutter.ordered(envelope(1), 10);
    expect(result).toEqual({ batches: [], pending: true });
    expect(cutter.pendingCount).toBe(1);
  });

  it('cuts when the batch reaches maxTransactions', () => {
    const cutter = new BlockCutter(limits);
    cutter.ordered(envelope(1), 10);
    const result = cutter.ordered(envelope(2), 10);
    expect(numbers(result.batches)).toEqual([[1, 2]]);
    expect(result.pending).toBe(false);
  });

  it('cuts the pending batch before an envelope that would overflow preferredMaxBytes, which then waits', () => {
    const cutter = new BlockCutter({ maxTransactions: 10, preferredMaxBytes: 100 });
    cutter.ordered(envelope(1), 60);
    const result = cutter.ordered(envelope(2), 41);
    expect(numbers(result.batches)).toEqual([[1]]);
    expect(result.pending).toBe(true);
    expect(numbers([cutter.cut()])).toEqual([[2]]);
  });

  it('fills a batch to exactly preferredMaxBytes without cutting it', () => {
    const cutter = new BlockCutter({ maxTransactions: 10, preferredMaxBytes: 100 });
    cutter.ordered(envelope(1), 60);
    expect(cutter.ordered(envelope(2), 40)).toEqual({ batches: [], pending: true });
  });

  it('isolates an envelope larger than preferredMaxBytes at once, after cutting what was pending', () => {
    const cutter = new BlockCutter(limits);
    cutter.ordered(envelope(1), 10);
    const result = cutter.ordered(envelope(2), 101);
    expect(numbers(result.batches)).toEqual([[1], [2]]);
    expect(result.pending).toBe(false);
    expect(cutter.pendingCount).toBe(0);
  });

  it('isolates a large envelope alone when nothing is pending', () => {
    const cutter = new BlockCutter(limits);
    expect(numbers(cutter.ordered(envelope(1), 101).batches)).toEqual([[1]]);
  });

  it('cut returns the pending batch and starts a new one', () => {
    const cutter = new BlockCutter(limits);
    cutter.ordered(envelope(1), 10);
    expect(numbers([cutter.cut()])).toEqual([[1]]);
    expect(cutter.cut()).toEqual([]);
  });
});
