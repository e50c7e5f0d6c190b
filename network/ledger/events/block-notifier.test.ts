import { describe, expect, it } from 'vitest';
import { BlockNotifier } from './block-notifier.ts';

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('BlockNotifier.waitForTransaction', () => {
  it("wakes a transaction's waiters with the block that names it, at its first occurrence, not with every block", async () => {
    const blocks = new BlockNotifier(5);
    const waiting = [blocks.waitForTransaction('tx-a', 5), blocks.waitForTransaction('tx-a', 5)];
    blocks.advance(6, { blockNum: 5, txIds: ['tx-b', undefined, 'tx-c'], codes: [0, 2, 0] });
    expect(await settled(waiting[0] as Promise<unknown>)).toBe(false);
    blocks.advance(7, { blockNum: 6, txIds: ['tx-b', 'tx-a', 'tx-a'], codes: [0, 11, 9] });
    expect(await Promise.all(waiting)).toEqual([
      { blockNum: 6, txNum: 1, code: 11 },
      { blockNum: 6, txNum: 1, code: 11 },
    ]);
  });

  it('wakes every transaction waiter to look again with a block whose transactions are not given', async () => {
    const blocks = new BlockNotifier(5);
    const waiting = [blocks.waitForTransaction('tx-a', 5), blocks.waitForTransaction('tx-b', 5)];
    blocks.advance(6);
    expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
    const later = blocks.waitForTransaction('tx-a', 6);
    blocks.advance(7, { blockNum: 6, txIds: ['tx-a'], codes: [0] });
    expect(await later).toEqual({ blockNum: 6, txNum: 0, code: 0 });
  });

  it('resolves at once, to look again, when the chain has grown since the caller looked', async () => {
    const blocks = new BlockNotifier(7);
    expect(await blocks.waitForTransaction('tx-a', 6)).toBeUndefined();
    expect(await settled(blocks.waitForTransaction('tx-a', 7))).toBe(false);
  });

  it('rejects with TIMEOUT on abort and forgets the waiter; with CLOSED on close', async () => {
    const blocks = new BlockNotifier(5);
    const controller = new AbortController();
    const aborted = blocks.waitForTransaction('tx-a', 5, controller.signal);
    controller.abort(new Error('deadline exceeded'));
    await expect(aborted).rejects.toMatchObject({ code: 'TIMEOUT' });
    const open = blocks.waitForTransaction('tx-a', 5);
    blocks.close();
    await expect(open).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(blocks.waitForTransaction('tx-b', 5)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
