import { LedgerError } from '../errors.ts';
import type { TxLocation } from '../types.ts';

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (reason: LedgerError) => void;
}

/** A committed block's transactions as its validator read them: the order and codes its TRANSACTIONS_FILTER has. */
export interface CommittedTransactions {
  readonly blockNum: number;
  /** Each envelope's channel header txid; undefined where it does not parse. */
  readonly txIds: readonly (string | undefined)[];
  readonly codes: readonly number[];
}

/**
 * Wakes readers waiting for the chain to reach a height, and CommitStatus calls waiting for their transaction.
 * One notifier per channel ledger. A transaction's waiters wake only with a block that names it (or with a block
 * whose txids were not given): with 64 calls in flight and blocks of a few transactions, waking every waiter at
 * every block to look its txid up again cost more than the lookups it saved.
 */
export class BlockNotifier {
  #height: number;
  readonly #heightWaiters = new Set<Waiter<undefined> & { readonly height: number }>();
  readonly #txWaiters = new Map<string, Set<Waiter<TxLocation | undefined>>>();
  #closed = false;

  constructor(height: number) {
    this.#height = height;
  }

  get height(): number {
    return this.#height;
  }

  /**
   * The chain now holds `height` blocks, the last of them `committed`: its transactions' waiters wake with where
   * their transaction is. Without it (a config block, recovery), every transaction waiter wakes to look again.
   */
  advance(height: number, committed?: CommittedTransactions): void {
    this.#height = height;
    for (const waiter of this.#heightWaiters) {
      if (waiter.height <= height) {
        this.#heightWaiters.delete(waiter);
        waiter.resolve(undefined);
      }
    }
    if (committed === undefined) {
      for (const waiters of this.#txWaiters.values()) for (const waiter of waiters) waiter.resolve(undefined);
      this.#txWaiters.clear();
      return;
    }
    const { blockNum, txIds, codes } = committed;
    for (const [txNum, txId] of txIds.entries()) {
      if (txId === undefined) continue;
      const waiters = this.#txWaiters.get(txId);
      if (!waiters) continue;
      // Woken by the first occurrence, the one the store's txid index keeps (a later duplicate finds none).
      this.#txWaiters.delete(txId);
      const location: TxLocation = { blockNum, txNum, code: codes[txNum] ?? 0 };
      for (const waiter of waiters) waiter.resolve(location);
    }
  }

  /** Resolves once the chain holds at least `height` blocks; rejects on abort or close. */
  async waitForHeight(height: number, signal?: AbortSignal): Promise<void> {
    if (height <= this.#height) return;
    await this.#wait<undefined>(signal, (waiter) => {
      const entry = { ...waiter, height };
      this.#heightWaiters.add(entry);
      return () => this.#heightWaiters.delete(entry);
    });
  }

  /**
   * Waits for `txId`, not found when the chain held `height` blocks: resolves with its location when a block naming
   * it commits (no read of the txid index: one per CommitStatus less), or with undefined when the caller must look
   * it up again: at once if the chain has grown since, or after a block whose transactions were not given. Rejects
   * on abort or close.
   */
  async waitForTransaction(txId: string, height: number, signal?: AbortSignal): Promise<TxLocation | undefined> {
    if (this.#height > height) return undefined;
    return this.#wait<TxLocation | undefined>(signal, (waiter) => {
      const waiters = this.#txWaiters.get(txId) ?? new Set<Waiter<TxLocation | undefined>>();
      waiters.add(waiter);
      this.#txWaiters.set(txId, waiters);
      return () => {
        waiters.delete(waiter);
        if (waiters.size === 0 && this.#txWaiters.get(txId) === waiters) this.#txWaiters.delete(txId);
      };
    });
  }

  async #wait<T>(signal: AbortSignal | undefined, register: (waiter: Waiter<T>) => () => void): Promise<T> {
    if (this.#closed) throw new LedgerError('CLOSED', 'the ledger is shutting down');
    signal?.throwIfAborted();
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const unregister = register({ resolve, reject });
    const onAbort = (): void => {
      unregister();
      reject(new LedgerError('TIMEOUT', 'wait cancelled', { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await promise;
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
