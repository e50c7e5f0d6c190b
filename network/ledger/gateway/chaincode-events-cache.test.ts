import { describe, expect, it } from 'vitest';
import { ChaincodeEventsCache } from './chaincode-events-cache.ts';

describe('ChaincodeEventsCache', () => {
  it('computes a block’s answer once for every stream asking, at the same time or after', async () => {
    const cache = new ChaincodeEventsCache();
    let computed = 0;
    const compute = () => {
      computed++;
      return Promise.resolve(Uint8Array.of(7));
    };
    const answers = await Promise.all([cache.get(5, 'lianxin', compute), cache.get(5, 'lianxin', compute)]);
    expect(await cache.get(5, 'lianxin', compute)).toEqual(Uint8Array.of(7));
    expect(answers).toEqual([Uint8Array.of(7), Uint8Array.of(7)]);
    expect(computed).toBe(1);
    // Another chaincode's answer for the same block is its own.
    await cache.get(5, 'other', compute);
    expect(computed).toBe(2);
  });

  it('does not keep a failed computation, and keeps only the newest blocks', async () => {
    const cache = new ChaincodeEventsCache();
    await expect(cache.get(1, 'lianxin', () => Promise.reject(new Error('disk')))).rejects.toThrow('disk');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache.get(1, 'lianxin', () => Promise.resolve(Uint8Array.of(1)))).toEqual(Uint8Array.of(1));
    for (let block = 2; block <= 6; block++) await cache.get(block, 'lianxin', () => Promise.resolve(undefined));
    let recomputed = false;
    await cache.get(1, 'lianxin', () => {
      recomputed = true;
      return Promise.resolve(Uint8Array.of(1));
    });
    expect(recomputed).toBe(true);
  });
});
