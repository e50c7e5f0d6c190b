/**
 * Which record keys (record-keys.ts: `r ‖ subject ‖ kind ‖ version`) may be stored, as a Bloom filter: a commit
 * reads the stored value of only the records the filter may have, so a bulk load, whose records are nearly all
 * new, skips a LevelDB miss per record (≈ 1–2 µs of process CPU each, the key copied again with its sublevel's
 * prefix; bench/RESULTS.md, "issue 13: origin4").
 *
 * What the record store may assume: `mayHave` is false only for a key that is not stored. A false "may have" only
 * costs the read; a false "has not" would append a record already stored as new (a second leaf, its row
 * overwritten), so every key is added before the write that stores it, and until the keys already stored have
 * been loaded the filter answers "may have" for all. The record store is the only writer of its record keys.
 *
 * Memory: node/store's KeyFilter, ≈ 1.25 bytes per stored record at first, up to twice that as its segments
 * double (≈ 1 % false "may have"). A start scans every stored record key once, in the background (reads go on
 * meanwhile); a restart at millions of records pays that scan again (the chain index saves its filter at a clean
 * stop; this one does not yet).
 */
import { KeyFilter, type NodeSublevel } from '../store/index.ts';

/** `r ‖ 0x00`, shared by every record key: left out of the hash. */
const RECORD_KEYS_FROM = Buffer.from('r\u0000', 'latin1');
const RECORD_KEYS_TO = Buffer.from('r\u0001', 'latin1');
/** Keys read per call of the start's scan. */
const SCAN_KEYS = 1_000;

export class RecordKeyFilter {
  readonly #keys = new KeyFilter(RECORD_KEYS_FROM.length);
  /** The two hashes of the key at hand: one array for every call (each is synchronous). */
  readonly #hashes = new Uint32Array(2);
  #loaded = false;

  /** False only if `key` (a recordKey, without the sublevel's prefix) is not stored, once stored keys are loaded. */
  mayHave(key: Uint8Array): boolean {
    if (!this.#loaded) return true;
    this.#keys.hashInto(key, this.#hashes, 0);
    return this.#keys.mightContainHashed(this.#hashes, 0);
  }

  /** Call before the write that stores `key`. */
  add(key: Uint8Array): void {
    this.#keys.hashInto(key, this.#hashes, 0);
    this.#keys.addHashed(this.#hashes, 0);
  }

  /**
   * Adds every record key stored in `db`, then answers for real. Keys written meanwhile are added by their writer
   * before they are written, so the iterator's snapshot misses none. Resolves false (the filter stays "may have"
   * for all) if the keys could not be read, e.g. the database closed first.
   */
  async load(db: NodeSublevel): Promise<boolean> {
    const keys = db.keys({ gte: RECORD_KEYS_FROM, lt: RECORD_KEYS_TO });
    try {
      // Many keys a call: `for await` costs a promise per key (≈ 4 µs of CPU a key in all, against ≈ 1).
      for (let chunk = await keys.nextv(SCAN_KEYS); chunk.length > 0; chunk = await keys.nextv(SCAN_KEYS)) {
        for (const key of chunk) this.add(key);
      }
    } catch {
      return false;
    } finally {
      await keys.close().catch(() => undefined);
    }
    this.#loaded = true;
    return true;
  }
}
