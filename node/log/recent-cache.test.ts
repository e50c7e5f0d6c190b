import { describe, expect, it } from 'vitest';
import { RecentCache } from './recent-cache.ts';

describe('RecentCache', () => {
  it('keeps at most its limit, a value used again outliving those set before it, and forgets all on clear', () => {
    const cache = new RecentCache<number>(4);
    for (const n of [1, 2, 3]) cache.set(String(n), n);
    // 1 used again: it moves to the young generation, while 2 stays in the old one and is dropped next.
    expect(cache.get('1')).toBe(1);
    cache.set('4', 4);
    cache.set('5', 5);
    expect([1, 2, 3, 4, 5].map((n) => cache.get(String(n)))).toEqual([1, undefined, undefined, 4, 5]);
    for (let n = 10; n < 1_000; n++) cache.set(String(n), n);
    const held = Array.from({ length: 1_000 }, (_, n) => cache.get(String(n))).filter((v) => v !== undefined);
    expect(held.length).toBeLessThanOrEqual(4);
    expect(held.length).toBeGreaterThanOrEqual(2);
    cache.clear();
    expect(cache.get('999')).toBeUndefined();
  });

  it('with a weight, bounds what its values weigh together rather than their count', () => {
    const cache = new RecentCache<string>(100, (value) => value.length);
    // Values of weight 1: as many as without a weight.
    for (let n = 0; n < 40; n++) cache.set(`light${n}`, 'x');
    expect(Array.from({ length: 40 }, (_, n) => cache.get(`light${n}`))).toEqual(Array(40).fill('x'));
    // Heavy values: at most 100 units of weight, so at most 4 of these stay (two generations of 50).
    for (let n = 0; n < 20; n++) cache.set(`heavy${n}`, 'y'.repeat(25));
    const held = Array.from({ length: 20 }, (_, n) => cache.get(`heavy${n}`)).filter((v) => v !== undefined);
    expect(held.length).toBeLessThanOrEqual(4);
    expect(held.length).toBeGreaterThanOrEqual(2);
  });
});
