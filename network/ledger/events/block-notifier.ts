import { LedgerError } from '../errors.ts';

/** Wakes readers waiting for the chain to reach a height. One notifier per channel ledger. */
export class BlockNotifier {
  #height: number;
  #waiters = new Set<{ height: number; resolve: (value: undefined) => void; reject: (reason: LedgerError) => void }>();
  #closed = false;

  constructor(height: number) {
    this.#height = height;
  }

  get height(): number {
    return this.#height;
  }

  advance(height: number): void {
    this.#height = height;
    for (const waiter of this.#waiters) {
      if (waiter.height <= height) {
        this.#waiters.delete(waiter);
        waiter.resolve(undefined);
      }
    }
  }

  /** Resolves once the chain holds at least `height` blocks; rejects on abort or close. */
  async waitForHeight(height: number, signal?: AbortSignal): Promise<void> {
    if (height <= this.#height) return;
    if (this.#closed) throw new LedgerError('CLOSED', 'the ledger is shutting down');
    signal?.throwIfAborted();
    const { promise, resolve, reject } = Promise.withResolvers<undefined>();
    const waiter = { height, resolve, reject };
    const onAbort = (): void => {
      this.#waiters.delete(waiter);
      reject(new LedgerError('TIMEOUT', 'wait cancelled', { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#waiters.add(waiter);
    try {
      await promise;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters) waiter.reject(new LedgerError('CLOSED', 'the ledger is shutting down'));
    this.#waiters.clear();
  }

  get closed(): boolean {
    return this.#closed;
  }
}
