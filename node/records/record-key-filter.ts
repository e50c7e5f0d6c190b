/**
 * Which record keys (record-keys.ts: `r ‖ subject ‖ kind ‖ version`) may be stored, as a Bloom filter: a commit
 * reads the stored value of only the records the filter may have, so a bulk load, whose records are nearly all
 * new, skips a LevelDB miss per record (its key copied again with the sublevel's prefix, a lookup on LevelDB's
 * thread; bench/RESULTS.md, "issue 13: origin4").
 *
 * What the record store may assume: `mayHaveHashed` is false only for a key that is not stored. A false "may have"
 * only costs the read; a false "has not" would append a record already stored as new (a second leaf, its row
 * overwritten), so every key is added before the write that stores it, and until the keys already stored are known
 * the filter answers "may have" for all. The record store is the only writer of record keys, and writes them only
 * in a log append's batch, so the log's size says whether any was written since a given moment.
 *
 * Kept across a clean restart (`save`): rows `k ‖ 0x00 ‖ …` of the records sublevel hold the filter and the log
 * size it was saved at; a start whose log has that size uses it, any other start (a crash, records ingested since)
 * scans every stored record key once, in the background (≈ 2.6 µs a key; reads go on meanwhile).
 *
 * Memory: node/store's KeyFilter, ≈ 1.25 bytes per stored record and at most ≈ 10 MiB of room not yet used (≈ 1 %
 * false "may have" per segment).
 */
import { KeyFilter, scanKeys, type NodeSublevel, type SublevelWrite } from '../store/index.ts';

/** `r ‖ 0x00`, shared by every record key: left out of the hash. */
const RECORD_KEYS_FROM = Buffer.from('r\u0000', 'latin1');
const RECORD_KEYS_TO = Buffer.from('r\u0001', 'latin1');
/** The saved filter's header: u64 BE log size ‖ u32 BE chunks. */
const SAVED_HEADER_KEY = Buffer.from('k\u0000h', 'latin1');
const SAVED_CHUNK_PREFIX = 'k\u0000c';
const SAVED_CHUNK_BYTES = 1 << 20;

const chunkKey = (n: number): Buffer => Buffer.from(`${SAVED_CHUNK_PREFIX}${String(n).padStart(8, '0')}`, 'latin1');

export class RecordKeyFilter {
  #keys = new KeyFilter(RECORD_KEYS_FROM.length);
  /** The two hashes of the key at hand: one array for every call (each is synchronous). */
  readonly #hashes = new Uint32Array(2);
  /** Keys added since this filter was made: a saved filter replaces it only while none were. */
  #added = 0;
  #loaded = false;
  /** Whether the filter holds keys that no saved filter does: then `save` writes it. */
  #unsaved = false;
  /** The log size of the saved filter this one was taken from: `save` writes it again only at another size. */
  #takenAt: number | undefined;

  /** Room for the hashes of `count` keys, for `hash`. */
  hashes(count: number): Uint32Array {
    return new Uint32Array(2 * count);
  }

  /**
   * Writes the hashes of the key at [start, end) of `bytes` (a recordKey, without the sublevel's prefix, where its
   * batch holds it: no view per key) at slot `i` of `hashes`: a commit hashes each key once, for `mayHaveHashed`
   * before its read and `addHashed` before its write.
   */
  hash(bytes: Uint8Array, start: number, end: number, hashes: Uint32Array, i: number): void {
    this.#keys.hashRangeInto(bytes, start, end, hashes, i);
  }

  /** False only if the key hashed at slot `i` is not stored, once stored keys are known. */
  mayHaveHashed(hashes: Uint32Array, i: number): boolean {
    return !this.#loaded || this.#keys.mightContainHashed(hashes, i);
  }

  /** Call before the write that stores the key hashed at slot `i`. */
  addHashed(hashes: Uint32Array, i: number): void {
    this.#keys.addHashed(hashes, i);
    this.#added++;
    this.#unsaved = true;
  }

  /** `hash` and `addHashed` of one key. */
  add(key: Uint8Array): void {
    this.#keys.hashInto(key, this.#hashes, 0);
    this.addHashed(this.#hashes, 0);
  }

  /**
   * Takes the filter saved at log size `logSize` (the log's size now, before any record is written), else adds
   * every record key stored in `db`; then answers for real. Keys written meanwhile are added by their writer before
   * they are written, so the scan's snapshot misses none. A scan the storage guard's reopen cuts short goes on
   * once the store is open again (scanKeys). Resolves false (the filter stays "may have" for all) if the keys could
   * not be read otherwise; stays pending if the store closes for good first.
   */
  async load(db: NodeSublevel, logSize: number): Promise<boolean> {
    const saved = await savedFilter(db, logSize).catch(() => undefined);
    if (saved !== undefined && this.#added === 0) {
      this.#keys = saved;
      this.#loaded = true;
      this.#unsaved = false;
      this.#takenAt = logSize;
      return true;
    }
    const scanned = await scanKeys(db, RECORD_KEYS_FROM, RECORD_KEYS_TO, (key) => {
      this.add(key);
    });
    if (scanned) this.#loaded = true;
    return scanned;
  }

  /**
   * Writes the filter for the next start, with `logSize`, the log's size read now: every key stored at that size
   * was added before its write, so the filter holds them all. Nothing if the filter is not complete yet, or if it
   * holds no key and none is saved (a node that never ingested a record writes nothing at its stop), or if it is the
   * saved one at the same size.
   */
  async save(db: NodeSublevel, write: (writes: readonly SublevelWrite[]) => Promise<void>, logSize: number) {
    if (!this.#loaded || (!this.#unsaved && (this.#takenAt === undefined || this.#takenAt === logSize))) return;
    const bytes = this.#keys.toBytes();
    const chunks = Math.ceil(bytes.length / SAVED_CHUNK_BYTES);
    const header = Buffer.alloc(12);
    header.writeUInt32BE(Math.floor(logSize / 2 ** 32), 0);
    header.writeUInt32BE(logSize % 2 ** 32, 4);
    header.writeUInt32BE(chunks, 8);
    const writes: SublevelWrite[] = [{ type: 'put', sublevel: db, key: SAVED_HEADER_KEY, value: header }];
    for (let n = 0; n < chunks; n++) {
      const value = bytes.subarray(n * SAVED_CHUNK_BYTES, (n + 1) * SAVED_CHUNK_BYTES);
      writes.push({ type: 'put', sublevel: db, key: chunkKey(n), value });
    }
    // Chunks of a larger filter saved before: not read (the header counts them), deleted all the same.
    const before = await db.get(SAVED_HEADER_KEY);
    const chunksBefore = before?.length === 12 ? before.readUInt32BE(8) : 0;
    for (let n = chunks; n < chunksBefore; n++) writes.push({ type: 'del', sublevel: db, key: chunkKey(n) });
    await write(writes);
  }
}

/** The filter saved at log size `logSize`, or undefined when there is none, of another size, or not readable. */
async function savedFilter(db: NodeSublevel, logSize: number): Promise<KeyFilter | undefined> {
  const header = await db.get(SAVED_HEADER_KEY);
  if (header?.length !== 12) return undefined;
  if (header.readUInt32BE(0) * 2 ** 32 + header.readUInt32BE(4) !== logSize) return undefined;
  const chunks = header.readUInt32BE(8);
  const values = await db.getMany(Array.from({ length: chunks }, (_, n) => chunkKey(n)));
  if (values.some((value) => value === undefined)) return undefined;
  const filter = KeyFilter.fromBytes(Buffer.concat(values as Buffer[]));
  // Its hashes must be the ones `add` computes.
  return filter?.skip === RECORD_KEYS_FROM.length ? filter : undefined;
}
