/**
 * The registry follower against a typed fake of the two chain calls it makes: a read when the event stream opens
 * (changes committed before it), one per RegistryChanged event, and a reopened stream after it breaks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LianxinChain, RegistryChange } from '../ledger/index.ts';
import { FakeEventStream } from '../ledger/test-event-stream.ts';
import { RegistryFollower } from './registry-follower.ts';

type FollowedChain = Pick<LianxinChain, 'chainInfo' | 'registryChanges'>;

const followers: RegistryFollower[] = [];
afterEach(async () => {
  await Promise.all(followers.splice(0).map((f) => f.stop()));
});

/** `failedReads`: how many registry reads fail (from the first) before they answer. */
function follow(failedReads = 0) {
  const streams: FakeEventStream<RegistryChange>[] = [];
  const opened: bigint[] = [];
  let height = 5n;
  const chain: FollowedChain = {
    chainInfo: () => Promise.resolve({ height } as Awaited<ReturnType<FollowedChain['chainInfo']>>),
    registryChanges: (startBlock) => {
      opened.push(startBlock);
      const stream = new FakeEventStream<RegistryChange>();
      streams.push(stream);
      return Promise.resolve(stream);
    },
  };
  let refreshes = 0;
  const errors: unknown[] = [];
  const follower = new RegistryFollower(
    {
      chain,
      refresh: () => {
        refreshes++;
        return refreshes <= failedReads ? Promise.reject(new Error('the registry read failed')) : Promise.resolve();
      },
      onError: (err) => errors.push(err),
    },
    { retryInitialMs: 1, retryMaxMs: 1 },
  );
  followers.push(follower);
  follower.start();
  return {
    follower,
    streams,
    opened,
    errors,
    refreshes: () => refreshes,
    setHeight: (h: bigint) => {
      height = h;
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const change = (blockNumber: bigint, mspId = 'HangzhouCreditMSP'): RegistryChange => ({
  blockNumber,
  transactionId: `tx${blockNumber}`,
  mspId,
  kind: 'node',
});

describe('RegistryFollower', () => {
  it('reads the registry when the stream opens at the chain height, and again at each change', async () => {
    const f = follow();
    await until(() => f.follower.following);
    expect(f.opened).toEqual([5n]);
    expect(f.refreshes()).toBe(1);
    f.streams[0]?.push(change(6n));
    f.streams[0]?.push(change(7n, 'ShanghaiBankMSP'));
    await until(() => f.refreshes() === 3);
    expect(f.follower.lastChange).toEqual(change(7n, 'ShanghaiBankMSP'));
  });

  it('reopens a broken stream from the new height and reads the registry again', async () => {
    const f = follow();
    await until(() => f.follower.following);
    f.setHeight(9n);
    f.streams[0]?.push(new Error('connection lost'));
    await until(() => f.opened.length === 2 && f.follower.following);
    expect(f.opened).toEqual([5n, 9n]);
    expect(f.refreshes()).toBe(2);
    expect(f.errors).toMatchObject([{ message: 'connection lost' }]);
  });

  it('closes a stream whose first read failed before opening the next: none is left subscribed (review31 S1)', async () => {
    const f = follow(2);
    await until(() => f.follower.following);
    expect(f.opened).toHaveLength(3);
    expect(f.streams.map((stream) => stream.closed)).toEqual([true, true, false]);
    expect(f.errors).toHaveLength(2);
  });
});
