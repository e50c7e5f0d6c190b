/**
 * The records a commit appends, found by key (a record appended twice in one commit is a duplicate, or refused),
 * with nothing per record on the heap: an open-addressed table of the keys' hashes in typed arrays, kept by the
 * record store and reused by each commit (commits run one at a time, and a commit's decisions in one synchronous
 * step). The hash is the record-key filter's (record-key-filter.ts), computed once per key anyway; a match is
 * confirmed on the keys' bytes. A record ID string per record, hashed into two Maps, cost the ingest's main thread
 * ≈ 3 % of its samples (bench/RESULTS.md, "issue 13: origin9").
 */
import { getRandomValues } from 'node:crypto';
import type { PreparedBatch } from './prepared-batch.ts';

/** What a lookup found: the record added with that key, and its offset. */
export interface CommitKeyEntry {
  readonly batch: PreparedBatch;
  /** The record's index in its batch. */
  readonly index: number;
  /** The record's offset among the commit's leaves. */
  readonly offset: number;
}

/** Fibonacci hashing's multiplier, 2^32 / φ. */
const GOLDEN = 0x9e3779b1;

export class CommitKeys {
  /** Entry number + 1 per table slot, 0 for an empty one; the table is a power of two, at least twice the entries. */
  #table = new Int32Array(0);
  #mask = 0;
  /** 32 − log2(table size): a slot is the top bits of the mixed hash. */
  #shift = 32;
  /**
   * Mixed into every slot: the key filter's hash is unseeded ("not for adversaries"), and a client choosing keys
   * whose hashes share their low bits would otherwise make each commit's probing quadratic.
   */
  readonly #seed = getRandomValues(new Uint32Array(1))[0] ?? 0;
  #hashes = new Uint32Array(0);
  #owners = new Int32Array(0);
  #indexes = new Int32Array(0);
  #offsets = new Float64Array(0);
  #count = 0;
  #batches: readonly PreparedBatch[] = [];
  /** The batches of the commit refused after adding keys: their entries are no longer found. */
  #refused = new Set<number>();

  /** Starts a commit of `batches`, of `records` records in all. */
  begin(batches: readonly PreparedBatch[], records: number): void {
    let size = 16;
    let bits = 4;
    while (size < 2 * records) {
      size *= 2;
      bits++;
    }
    if (this.#table.length < size) this.#table = new Int32Array(size);
    else this.#table.fill(0, 0, size);
    this.#mask = size - 1;
    this.#shift = 32 - bits;
    if (this.#hashes.length < records) {
      this.#hashes = new Uint32Array(records);
      this.#owners = new Int32Array(records);
      this.#indexes = new Int32Array(records);
      this.#offsets = new Float64Array(records);
    }
    this.#count = 0;
    this.#batches = batches;
    this.#refused.clear();
  }

  /** Ends the commit's decisions: its batches are not kept alive by this table. */
  end(): void {
    this.#batches = [];
  }

  /**
   * The entry of the key of record `index` of the commit's batch `batch` (whose key hashes to `hash`), if one was
   * added and its batch not refused since.
   */
  find(batch: number, index: number, hash: number): CommitKeyEntry | undefined {
    const mine = this.#batches[batch] as PreparedBatch;
    for (let slot = this.#slotOf(hash); ; slot = (slot + 1) & this.#mask) {
      const entry = (this.#table[slot] ?? 0) - 1;
      if (entry < 0) return undefined;
      const owner = this.#owners[entry] ?? 0;
      const at = this.#indexes[entry] ?? 0;
      if (
        this.#hashes[entry] === hash &&
        !this.#refused.has(owner) &&
        mine.sameKey(index, this.#batches[owner] as PreparedBatch, at)
      ) {
        return { batch: this.#batches[owner] as PreparedBatch, index: at, offset: this.#offsets[entry] ?? 0 };
      }
    }
  }

  /** Adds the key of record `index` of batch `batch`, hashing to `hash`, at `offset` among the commit's leaves. */
  add(batch: number, index: number, hash: number, offset: number): void {
    const entry = this.#count++;
    this.#hashes[entry] = hash;
    this.#owners[entry] = batch;
    this.#indexes[entry] = index;
    this.#offsets[entry] = offset;
    let slot = this.#slotOf(hash);
    while (this.#table[slot] !== 0) slot = (slot + 1) & this.#mask;
    this.#table[slot] = entry + 1;
  }

  #slotOf(hash: number): number {
    return Math.imul(hash ^ this.#seed, GOLDEN) >>> this.#shift;
  }

  /** Batch `batch` was refused: the keys it added are not found again. */
  refuse(batch: number): void {
    this.#refused.add(batch);
  }
}
