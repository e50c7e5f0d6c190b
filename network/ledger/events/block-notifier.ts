import { LedgerError } from '../errors.ts';

interface Waiter {
  readonly resolve: (value: undefined) => void;
  readonly reject: (reason: LedgerError) => void;
}

/**
 * Wakes readers waiting for the chain to reach a height, and CommitStatus calls waiting for their transaction.
 * One notifier per channel ledger. A transaction's waiters wake only with a block that names it (or with a block
 * whose txids were not given): with 64 calls in flight and blocks of a few transactions, waking every waiter at
 * every block to look its txid up again cost more than the lookups it saved.
 */
export class BlockNotifier {
  #height: number;
  readonly #heightWaiters = new Set<Waiter & { readonly height: number }>();
  readonly #txWaiters = new Map<string, Set<Waiter>>();
  #closed = false;

  constructor(height: number) {
    this.#height = height;
  }

  get height(): number {
    return this.#height;
  }

  /**
   * The chain now holds `height` blocks. `txIds` are the transactions of the blocks committed since the last
   * advance; without them, every transaction waiter wakes to look again.
   */
  advance(height: number, txIds?: Iterable<string | undefined>): void {
    this.#height = height;
    for (const waiter of this.#heightWaiters) {
      if (waiter.height <= height) {
        this.#heightWaiters.delete(waiter);
        waiter.resolve(undefined);
      }
    }
    const woken = txIds === undefined ? [...this.#txWaiters.keys()] : txIds;
    for (const txId of woken) {
      if (txId === undefined) continue;
      const waiters = this.#txWaiters.get(txId);
      if (!waiters) continue;
      this.#txWaiters.delete(txId);
      for (const waiter of waiters) waiter.resolve(undefined);
    }
  }

  /** Resolves once the chain holds at least `height` blocks; rejects on abort or close. */
  async waitForHeight(height: number, signal?: AbortSignal): Promise<void> {
    if (height <= this.#height) return;
    await this.#wait(signal, (waiter) => {
      const entry = { ...waiter, height };
      this.#heightWaiters.add(entry);
      return () => this.#heightWaiters.delete(entry);
    });
  }

  /**
   * Resolves once a block committed after the chain held `height` blocks may hold `txId` (the caller looks it up
   * again): at once if the chain has grown since, else when a block naming it commits. Rejects on abort or close.
   */
  async waitForTransaction(txId: string, height: number, signal?: AbortSignal): Promise<void> {
    if (this.#height > height) return;
    await this.#wait(signal, (waiter) => {
      const waiters = this.#txWaiters.get(txId) ?? new Set<Waiter>();
      waiters.add(waiter);
      this.#txWaiters.set(txId, waiters);
      return () => {
        waiters.delete(waiter);
        if (waiters.size === 0 && this.#txWaiters.get(txId) === waiters) this.#txWaiters.delete(txId);
      };
    });
  }

  async #wait(signal: AbortSignal | undefined, register: (waiter: Waiter) => () => void): Promise<void> {
    if (this.#closed) throw new LedgerError('CLOSED', 'the ledger is shutting down');
    signal?.throwIfAborted();
    const { promise, resolve, reject } = Promise.withResolvers<undefined>();
    const unregister = register({ resolve, reject });
    const onAbort = (): void => {
      unregister();
      reject(new LedgerError('TIMEOUT', 'wait cancelled', { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await promise;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    this.#closed = true;
    const closed = () => new LedgerError('CLOSED', 'the ledger is shutting down');
    for (const waiter of this.#heightWaiters) waiter.reject(closed());
    for (const waiters of this.#txWaiters.values()) for (const waiter of waiters) waiter.reject(closed());
    this.#heightWaiters.clear();
    this.#txWaiters.clear();
  }

  get closed(): boolean {
    return this.#closed;
  }
}
