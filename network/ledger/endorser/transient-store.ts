/**
 * The transient store (core/transientstore): private data writes of endorsed transactions, waiting for their
 * transaction to be committed. In memory, bounded: an endorsement whose transaction is never submitted must not
 * grow the peer without end; a transaction committed after its entry was dropped (or after a restart) commits
 * its hashes without the plaintext, as a Fabric peer with missing private data does.
 */
const DEFAULT_CAPACITY = 10_000;

export class TransientStore {
  readonly #entries = new Map<string, Uint8Array>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#capacity = capacity;
  }

  put(txId: string, privateData: Uint8Array): void {
    this.#entries.delete(txId);
    if (this.#entries.size >= this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(txId, privateData);
  }

  /** The entry, kept: a block commit that fails on the disk is validated again and needs it again. */
  get(txId: string): Uint8Array | undefined {
    return this.#entries.get(txId);
  }

  /** Drops the entries of transactions now in a committed block: they are no longer needed. */
  delete(txIds: Iterable<string>): void {
    for (const txId of txIds) this.#entries.delete(txId);
  }
}
