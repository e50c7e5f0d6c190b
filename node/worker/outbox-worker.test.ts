import { describe, expect, it } from 'vitest';
import { OutboxWorker } from './outbox-worker.ts';

/** An outbox in memory: the worker's loop is what is under test. */
function outbox(fail = 0, readErrors: Error[] = [], { retryInitialMs = 1, retryMaxMs = 4 } = {}) {
  const queue: number[] = [];
  const done: number[] = [];
  const failures: number[] = [];
  const readRetries: number[] = [];
  const stopped: unknown[] = [];
  let failing = fail;
  const worker = new OutboxWorker<number>({
    retryInitialMs,
    retryMaxMs,
    next: () => {
      const err = readErrors.shift();
      return err === undefined ? Promise.resolve(queue[0]) : Promise.reject(err);
    },
    process: (n) => {
      if (failing-- > 0) return Promise.reject(new Error(`busy ${String(n)}`));
      queue.shift();
      done.push(n);
      return Promise.resolve();
    },
    onFailure: (_err, _n, retryInMs) => failures.push(retryInMs),
    onReadRetry: (_err, retryInMs) => readRetries.push(retryInMs),
    onStopped: (err) => stopped.push(err),
  });
  return { queue, done, failures, readRetries, stopped, worker };
}

const levelError = (code: string, message: string) => Object.assign(new Error(message), { code });

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
};

describe('OutboxWorker', () => {
  it('works through the outbox, sleeps when it is empty and wakes for each new item', async () => {
    const { queue, done, worker } = outbox();
    queue.push(1, 2);
    worker.start();
    await until(() => done.length === 2);
    for (const n of [3, 4, 5]) {
      queue.push(n);
      worker.wake();
      await until(() => done.length === n);
    }
    await worker.stop();
    expect(done).toEqual([1, 2, 3, 4, 5]);
  });

  it('retries a failing item with doubling delays up to the cap, then goes on', async () => {
    const { queue, done, failures, worker } = outbox(4);
    queue.push(7);
    worker.start();
    await until(() => done.length === 1);
    await worker.stop();
    expect(failures).toEqual([1, 2, 4, 4]);
    expect(done).toEqual([7]);
  });

  it('ends a backoff when told to retry now, and backs off from the initial delay again', async () => {
    // Minutes of backoff: without retryNow this test would time out at the first failure.
    const { queue, done, failures, worker } = outbox(3, [], { retryInitialMs: 60_000, retryMaxMs: 600_000 });
    queue.push(5);
    worker.start();
    for (const failed of [1, 2, 3]) {
      await until(() => failures.length === failed);
      worker.retryNow();
    }
    await until(() => done.length === 1);
    await worker.stop();
    expect(failures).toEqual([60_000, 60_000, 60_000]);
    expect(done).toEqual([5]);
  });

  it('does not let a retryNow that came while it was idle skip the wait of a later failure', async () => {
    const { queue, done, failures, worker } = outbox(2);
    worker.start();
    worker.retryNow();
    queue.push(8);
    worker.wake();
    await until(() => done.length === 1);
    await worker.stop();
    // Kept, the retryNow would have skipped the first wait and started the doubling over: [1, 1].
    expect(failures).toEqual([1, 2]);
  });

  it('waits out a store being reopened or full while it reads the outbox, and stops on any other read error', async () => {
    const closed = levelError('LEVEL_DATABASE_NOT_OPEN', 'Database is not open');
    const full = levelError('LEVEL_IO_ERROR', 'IO error: 000003.log: No space left on device');
    const transient = outbox(0, [closed, full]);
    transient.queue.push(9);
    transient.worker.start();
    await until(() => transient.done.length === 1);
    await transient.worker.stop();
    expect(transient.readRetries).toEqual([1, 2]);
    expect(transient.stopped).toEqual([]);

    const bug = new TypeError('undefined is not a function');
    const broken = outbox(0, [bug]);
    broken.queue.push(9);
    broken.worker.start();
    await until(() => broken.stopped.length === 1);
    expect(broken.stopped).toEqual([bug]);
    expect(broken.done).toEqual([]);
  });

  it('stops while asleep, and takes no more work after stop', async () => {
    const { queue, done, worker } = outbox();
    worker.start();
    await worker.stop();
    queue.push(1);
    worker.wake();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(done).toEqual([]);
    expect(worker.stopping.aborted).toBe(true);
  });
});
