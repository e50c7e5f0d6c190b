import { stateKey, type NamespacedStateEntry, type StateUpdate } from '../store/index.ts';
import type { StateEntry, StateReader, TxLocation, VersionedValue } from '../types.ts';
import type { TxIdIndex } from './tx-validator.ts';

/** World state and txid index in memory, for replaying a chain from block 0 (verify-chain). */
export class MemoryLedgerState implements StateReader, TxIdIndex {
  readonly #state = new Map<string, NamespacedStateEntry>();
  readonly #txIndex = new Map<string, TxLocation>();

  getState(namespace: string, key: string): Promise<VersionedValue | undefined> {
    return Promise.resolve(this.#state.get(stateKey(namespace, key).toString('hex')));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- AsyncIterable is the StateReader contract
  async *getStateRange(namespace: string, startKey: string, endKey: string): AsyncIterable<StateEntry> {
    const lower = stateKey(namespace, startKey);
    const upper = endKey === '' ? undefined : stateKey(namespace, endKey);
    for (const entry of this.entries()) {
      if (entry.namespace !== namespace) continue;
      const k = stateKey(namespace, entry.key);
      if (Buffer.compare(k, lower) >= 0 && (!upper || Buffer.compare(k, upper) < 0)) yield entry;
    }
  }

  getTxLocation(txId: string): Promise<TxLocation | undefined> {
    return Promise.resolve(this.#txIndex.get(txId));
  }

  /** Entries in the store's order: namespace, then key, as UTF-8 bytes. */
  entries(): NamespacedStateEntry[] {
    return [...this.#state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
  }

  /** Applies a committed block: its first-occurrence txids and its VALID updates. */
  apply(
    blockNum: number,
    txIds: readonly (string | undefined)[],
    codes: readonly number[],
    updates: readonly StateUpdate[],
  ): void {
    for (const [txNum, txId] of txIds.entries()) {
      if (txId && !this.#txIndex.has(txId)) this.#txIndex.set(txId, { blockNum, txNum, code: codes[txNum] ?? 0 });
    }
    for (const update of updates) {
      const k = stateKey(update.namespace, update.key).toString('hex');
      if (update.value === null) this.#state.delete(k);
      else
        this.#state.set(k, {
          namespace: update.namespace,
          key: update.key,
          value: update.value,
          version: update.version,
        });
    }
  }
}
