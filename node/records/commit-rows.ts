/**
 * A commit's records as the rows its LevelDB batch takes (node/store SublevelRows): each key with the records
 * sublevel's prefix, copied from its batch into one slab kept from one commit to the next, each value a view of its
 * batch. A key prefixed per record by the sublevel (`prefixKey`) cost a view of the key, a new Buffer and its object:
 * ≈ 270 bytes of young garbage per record on the ingest's main thread (bench/RESULTS.md, "random2").
 */
import type { IndexedRows } from '../store/index.ts';
import type { PreparedBatch } from './prepared-batch.ts';

/** Slabs grow in steps of this many bytes, so commits of nearly the same size reuse one. */
const SLAB_STEP = 64 * 1024;

export class CommitRows implements IndexedRows {
  #slab = Buffer.alloc(0);
  #ends = new Uint32Array(0);
  #batches: readonly PreparedBatch[] = [];
  #indexes: ArrayLike<number> = [];
  count = 0;

  /**
   * Row k < `count`: record `indexes[k]` of `batches[k]`, its key after `prefix`. Valid until the next call: LevelDB
   * copies what it is given, and a commit's rows are put before the next commit's are made.
   */
  of(prefix: Buffer, batches: readonly PreparedBatch[], indexes: ArrayLike<number>, count: number): IndexedRows {
    let bytes = 0;
    for (let k = 0; k < count; k++) bytes += prefix.length + (batches[k] as PreparedBatch).keyLength(indexes[k] ?? 0);
    if (this.#slab.length < bytes) this.#slab = Buffer.allocUnsafe(Math.ceil(bytes / SLAB_STEP) * SLAB_STEP);
    if (this.#ends.length < count) this.#ends = new Uint32Array(count);
    const slab = this.#slab;
    let at = 0;
    for (let k = 0; k < count; k++) {
      at += prefix.copy(slab, at);
      at = (batches[k] as PreparedBatch).copyKey(indexes[k] ?? 0, slab, at);
      this.#ends[k] = at;
    }
    this.#batches = batches;
    this.#indexes = indexes;
    this.count = count;
    return this;
  }

  key(k: number): Buffer {
    return this.#slab.subarray(k === 0 ? 0 : this.#ends[k - 1], this.#ends[k]);
  }

  value(k: number): Buffer {
    return (this.#batches[k] as PreparedBatch).value(this.#indexes[k] ?? 0);
  }

  /** Lets go of the commit's batches once its rows are put. */
  clear(): void {
    this.#batches = [];
    this.#indexes = [];
    this.count = 0;
  }
}
