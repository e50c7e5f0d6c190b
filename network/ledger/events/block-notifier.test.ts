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
  it('wakes a transaction waiter with the block that names it, not with every block', async () => {
    const blocks = new BlockNotifier(5);
    const waiting = blocks.waitForTransaction('tx-a', 5);
    blocks.advance(6, ['tx-b', undefined, 'tx-c']);
    expect(await settled(waiting)).toBe(false);
    blocks.advance(7, ['tx-b', 'tx-a']);
    expect(await settled(waiting)).toBe(true);
  });

  it('wakes every transaction waiter with a block whose txids are not given', async () => {
    const blocks = new BlockNotifier(5);
    const waiting = [blocks.waitForTransaction('tx-a', 5), blocks.waitForTransaction('tx-b', 5)];
    blocks.advance(6);
    expect(await Promise.all(waiting.map(settled))).toEqual([true, true]);
  });

  it('resolves at once when the chain has grown since the caller looked', async () => {
    const blocks = new BlockNotifier(7);
    expect(await settled(blocks.waitForTransaction('tx-a', 6))).toBe(true);
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
