import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';

const never = new AbortController().signal;

describe('Backoff', () => {
  it('doubles its delay after each wait up to the cap, and starts over once the work goes through', async () => {
    const backoff = new Backoff(1, 4);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      delays.push(backoff.delayMs);
      await backoff.wait(never);
    }
    expect(delays).toEqual([1, 2, 4, 4]);
    backoff.reset();
    expect(backoff.delayMs).toBe(1);
  });

  it('ends a wait when told to retry now, or skips the next one, and starts the doubling over', async () => {
    // A minute's wait: without retryNow this test would time out.
    const backoff = new Backoff(60_000, 600_000);
    const waiting = backoff.wait(never);
    backoff.retryNow();
    await waiting;
    expect(backoff.delayMs).toBe(60_000);
    backoff.retryNow();
    await backoff.wait(never);
    expect(backoff.delayMs).toBe(60_000);
  });

  it('ends a wait when its signal aborts', async () => {
    const stop = new AbortController();
    const backoff = new Backoff(60_000, 60_000);
    const waiting = backoff.wait(stop.signal);
    stop.abort();
    await waiting;
    expect(backoff.delayMs).toBe(60_000);
  });
});
