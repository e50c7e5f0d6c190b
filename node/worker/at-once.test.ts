import { describe, expect, it } from 'vitest';
import { forEachAtOnce } from './at-once.ts';

describe('forEachAtOnce', () => {
  it('runs every item, never more than the limit at once, started in order', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const items = Array.from({ length: 10 }, (_, n) => ({ n }));
    await forEachAtOnce(items, 3, async ({ n }) => {
      started.push(n);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5 + (n % 3)));
      running--;
    });
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
  });

  it('starts no more workers than items', async () => {
    let calls = 0;
    await forEachAtOnce([{ n: 1 }], 8, () => {
      calls++;
      return Promise.resolve();
    });
    expect(calls).toBe(1);
  });
});
