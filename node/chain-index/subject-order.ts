/**
 * The order an anchor's `latest/` rows go into its LevelDB batch: by subject, the first part of their keys (rows of
 * one subject keep their leaf order, whatever their kinds: close enough to key order for the memtable).
 * In leaf order, random subjects land all over the memtable (a skiplist of ≈ 36,000 rows at 4 MiB), and each insert
 * searches it from the top through nodes out of the cache; in key order each search retraces most of the last one's
 * path. The rows are built in this order (index-rows.ts, latestRowsOf), not read through it: the batch's copies of
 * rows out of order cost the main thread what the writer threads saved (bench/RESULTS.md, "follow11": built in
 * order, the writer threads −0.4 µs per entry under random subjects, the main thread +0.1). Subjects that arrive
 * ascending, as a bulk load sorted by USCC brings them, keep their order.
 */
import { ENTRY_OFFSET, ENTRY_SUBJECT_BYTES, type IndexEntriesView } from '../../chaincode/src/protocol.ts';

/** A subject's bytes are '0'–'9' and 'A'–'Y' (0x30–0x59): each less '0' fits in 6 bits, in the bytes' order. */
const FIRST_SYMBOL = 0x30;
const SYMBOL_BITS = 6;
const SYMBOL_MASK = (1 << SYMBOL_BITS) - 1;
/** Two characters sorted per pass. */
const BUCKETS = 1 << (2 * SYMBOL_BITS);
const PASSES = ENTRY_SUBJECT_BYTES / 2;

/**
 * Sorts an anchor's entries by subject (a least-significant-digit radix sort, two characters a pass), in memory kept
 * from one anchor to the next. Stable: an anchor's entries of one subject keep their leaf order, so the last of a
 * subject and kind (its highest version) is still the one LevelDB keeps.
 */
export class SubjectOrder {
  #order = new Uint32Array(0);
  #spare = new Uint32Array(0);
  #digits = new Uint16Array(0);
  readonly #starts = new Uint32Array(BUCKETS);

  /** The entries' numbers in their subjects' order; valid until the next call. */
  of(entries: IndexEntriesView): Uint32Array {
    const { bytes, count, offsets } = entries;
    if (this.#order.length < count) {
      this.#order = new Uint32Array(count);
      this.#spare = new Uint32Array(count);
      this.#digits = new Uint16Array(count * PASSES);
    }
    let order = this.#order;
    let spare = this.#spare;
    const digits = this.#digits;
    for (let i = 0; i < count; i++) {
      order[i] = i;
      const at = (offsets[i] ?? 0) + ENTRY_OFFSET.subject;
      for (let pass = 0; pass < PASSES; pass++) {
        // The mask keeps any byte in range: a byte outside the alphabet (never in a scanned view) only sorts amiss.
        const high = ((bytes[at + 2 * pass] as number) - FIRST_SYMBOL) & SYMBOL_MASK;
        const low = ((bytes[at + 2 * pass + 1] as number) - FIRST_SYMBOL) & SYMBOL_MASK;
        digits[pass * count + i] = (high << SYMBOL_BITS) | low;
      }
    }
    const starts = this.#starts;
    for (let pass = PASSES - 1; pass >= 0; pass--) {
      const base = pass * count;
      starts.fill(0);
      for (let i = 0; i < count; i++) {
        const digit = digits[base + i] as number;
        starts[digit] = (starts[digit] as number) + 1;
      }
      let sum = 0;
      for (let d = 0; d < BUCKETS; d++) {
        const n = starts[d] as number;
        starts[d] = sum;
        sum += n;
      }
      for (let i = 0; i < count; i++) {
        const entry = order[i] as number;
        const digit = digits[base + entry] as number;
        const to = starts[digit] as number;
        spare[to] = entry;
        starts[digit] = to + 1;
      }
      [order, spare] = [spare, order];
    }
    // An odd number of passes leaves the result in the other array; both are kept either way.
    this.#order = order;
    this.#spare = spare;
    return order.subarray(0, count);
  }
}
