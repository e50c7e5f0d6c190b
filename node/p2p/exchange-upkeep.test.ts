import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startExchangeUpkeep } from './exchange-upkeep.ts';

describe('the exchange upkeep', () => {
  it('reads the registry only while not following it; retries receipts, prunes replays always', async () => {
    let following = true;
    const calls = { refresh: 0, retry: 0, prune: 0 };
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
        pruneReplay: () => {
          calls.prune++;
          return Promise.resolve();
        },
        onError: (err) => {
          throw err;
        },
      },
      10,
    );
    try {
      // Ticks, not wall time: a loaded machine runs a 10 ms timer late.
      await until(() => calls.retry >= 3);
      expect(calls.refresh).toBe(0);
      following = false;
      const retried = calls.retry;
      await until(() => calls.retry >= retried + 3);
      expect(calls.refresh).toBeGreaterThanOrEqual(2);
      // Every tick does both, in the same turn.
      expect(calls.prune).toBe(calls.retry);
    } finally {
      stop();
    }
    const after = { ...calls };
    await sleep(50);
    expect(calls).toEqual(after);
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10);
  expect(condition()).toBe(true);
}
