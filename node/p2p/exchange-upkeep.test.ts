import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startExchangeUpkeep } from './exchange-upkeep.ts';

describe('the exchange upkeep', () => {
  it('reads the registry again only while its events are not followed, and retries pending receipts always', async () => {
    let following = true;
    const calls = { refresh: 0, retry: 0 };
    const stop = startExchangeUpkeep(
      {
        following: () => following,
        refreshRegistry: () => {
          calls.refresh++;
          return Promise.resolve();
        },
        retryPending: () => {
          calls.retry++;
          return Promise.resolve();
        },
        onError: (err) => {
          throw err;
        },
      },
      10,
    );
    try {
      await sleep(100);
      expect(calls.refresh).toBe(0);
      expect(calls.retry).toBeGreaterThanOrEqual(3);
      following = false;
      await sleep(100);
      expect(calls.refresh).toBeGreaterThanOrEqual(3);
    } finally {
      stop();
    }
    const after = { ...calls };
    await sleep(50);
    expect(calls).toEqual(after);
  });
});
