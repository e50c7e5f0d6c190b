import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LedgerProbe } from './index.ts';

describe('LedgerProbe', () => {
  it('is not healthy before the ledger first answers, then follows it down and back up', async () => {
    let up = true;
    const changes: boolean[] = [];
    const probe = new LedgerProbe({
      probe: () => (up ? Promise.resolve() : Promise.reject(new Error('14 UNAVAILABLE: connect ECONNREFUSED'))),
      intervalMs: 20,
      retryInitialMs: 5,
      onChange: (reachable) => changes.push(reachable),
    });
    expect(probe.check()).toBe('unreachable: not reached yet');
    probe.start();
    await probe.settled();
    expect(probe.check()).toBeUndefined();
    up = false;
    await until(() => !probe.reachable);
    expect(probe.check()).toBe('unreachable: 14 UNAVAILABLE: connect ECONNREFUSED');
    up = true;
    await until(() => probe.reachable);
    await probe.stop();
    expect(changes).toEqual([true, false, true]);
  });

  it('gives up on a probe that does not answer within twice the interval', async () => {
    const probe = new LedgerProbe({ probe: () => new Promise(() => undefined), intervalMs: 10, retryInitialMs: 5 });
    probe.start();
    await probe.settled();
    expect(probe.check()).toMatch(/^unreachable: no answer within the probe's deadline/);
    await probe.stop();
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(5);
  expect(condition()).toBe(true);
}
