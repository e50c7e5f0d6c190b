/**
 * Which (subject, kind) may have a version above 1, as a Bloom filter of their latest-version keys (record-keys.ts):
 * a latest-version lookup of a record never updated, the common case, then reads the record alone instead of first
 * reading a latest-version key that is not there (≈ a third of a lookup's LevelDB time in the AttestStream profile).
 *
 * A false "may have" only costs that read back; a false "has not" would answer an old version, so every key is
 * added before the write that stores it, and until the keys already stored have been loaded the filter answers
 * "may have" for all. Fixed size, so memory does not grow with the store: at a million updated records one lookup
 * in ≈ 50 still reads the latest-version key for nothing.
 */
import type { NodeSublevel } from '../store/index.ts';

/** 2^23 bits = 1 MiB. */
const BITS_LOG2 = 23;
const MASK = (1 << BITS_LOG2) - 1;
const PROBES = 4;

export class LatestKeyFilter {
  readonly #bits = new Uint32Array(1 << (BITS_LOG2 - 5));
  #loaded = false;

  /** False only if `id` (a latestId) was never added, once the stored keys are loaded. */
  mayHave(id: string): boolean {
    return !this.#loaded || probe(this.#bits, id, false);
  }

  add(id: string): void {
    probe(this.#bits, id, true);
  }

  /**
   * Adds every latest-version key stored in `db`, then answers for real. Keys written meanwhile are added by their
   * writer before they are written, so the iterator's snapshot misses none. Resolves false (the filter stays
   * "may have" for all) if the keys could not be read, e.g. the database closed first.
   */
  async load(db: NodeSublevel): Promise<boolean> {
    try {
      for await (const key of db.keys({ gte: Buffer.from('l\u0000'), lt: Buffer.from('l\u0001') })) {
        this.add(key.toString('utf8'));
      }
    } catch {
      return false;
    }
    this.#loaded = true;
    return true;
  }
}

/** Whether all of `id`'s bits are set (setting them first if `set`): double hashing of two 32-bit FNV-style hashes. */
function probe(bits: Uint32Array, id: string, set: boolean): boolean {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  h2 |= 1;
  for (let n = 0; n < PROBES; n++) {
    const bit = (h1 + Math.imul(n, h2)) & MASK;
    const word = bit >>> 5;
    const mask = 1 << (bit & 31);
    if (set) bits[word] = (bits[word] ?? 0) | mask;
    else if (((bits[word] ?? 0) & mask) === 0) return false;
  }
  return true;
}
