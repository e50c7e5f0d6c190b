/**
 * A Bloom filter over LevelDB keys, kept in memory so that a reader skips the LevelDB read of a key that was never
 * stored. Three users: the chain index's `latest/` keys (applying an anchor: a bulk load is almost all new subjects,
 * each one's read a LevelDB miss probing every level and charging a "seek" that schedules compaction, ≈60 % of a
 * follower's CPU per entry; bench/RESULTS.md, "issue 13: index"), the record store's record keys (a commit reads
 * only the records it may have stored; node/records/record-key-filter.ts), and its latest-version keys (a record
 * never updated is looked up in one read; node/records/latest-key-filter.ts).
 *
 * What a caller may assume: `mightContain` is false only for a key never added. It says nothing about keys stored
 * before the filter existed: the owner adds every stored key (a scan) and every key it writes, and trusts a
 * negative only once the scan has finished. A positive may be false (≈1 % at the sized load): that key is read.
 *
 * Layout: a split-block Bloom filter (Putze, Sanders, Singler, "Cache-, Hash- and Space-Efficient Bloom Filters",
 * 2007; the Parquet format's SBBF): a key sets one bit in each of the 8 words of one 32-byte block, so a lookup
 * touches one cache line. ≈10 bits per key. The filter grows by segments, each twice the last up to 8M keys and
 * then 8M keys each, so it never has to be rebuilt from the database; a lookup asks each segment (5 at 23 million
 * keys). Segments stop doubling because a node holds two of these filters over every record (the chain index's
 * and the record store's record keys; its latest-version keys' holds only records updated): doubling to 16M keys
 * held 31M keys' room (≈ 39 MB) for 16–23M keys, and stepped both filters up by 20 MB at once past 15M records,
 * which the 20M-record soak counted as growth (bench/RESULTS.md, "the 20M-record memory soak again"); 8M-key
 * segments keep at most ≈ 10 MB per filter unused.
 */

/** Odd constants from the Parquet SBBF specification: word i of a block gets bit (h × SALT[i]) >>> 27. */
const SALT = new Uint32Array([
  0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
]);
const WORDS_PER_BLOCK = 8;
const BIG_ENDIAN_PLATFORM = new Uint8Array(new Uint32Array([1]).buffer)[0] === 0;
const BITS_PER_KEY = 10;
/** The first segment's capacity, in keys (≈1.2 MiB). */
export const KEY_FILTER_MIN_KEYS = 1 << 20;
/** The largest segment growth adds, in keys (≈10 MiB); a first segment sized larger is repeated instead. */
export const KEY_FILTER_MAX_SEGMENT_KEYS = 1 << 23;

const blocksFor = (capacity: number) => Math.max(1, Math.ceil((capacity * BITS_PER_KEY) / (32 * WORDS_PER_BLOCK)));

class Segment {
  readonly words: Uint32Array;
  readonly blocks: number;
  readonly capacity: number;
  count = 0;

  constructor(capacity: number, words?: Uint32Array) {
    this.capacity = capacity;
    this.blocks = blocksFor(capacity);
    this.words = words ?? new Uint32Array(this.blocks * WORDS_PER_BLOCK);
  }
}

/**
 * Format of `toBytes`: u8 version | u32 skip | u32 segments | per segment u32 capacity, u32 count | words. A change
 * of `hashKeyInto` or of the bit layout is a new version: saved filters of the old one are then not used.
 */
const FILTER_BYTES_VERSION = 1;
/** Largest capacity `fromBytes` accepts for one segment: 2^31 keys (2.5 GiB). */
const MAX_SEGMENT_CAPACITY = 2 ** 31;

export class KeyFilter {
  readonly #segments: Segment[];
  readonly #skip: number;
  readonly #maxSegmentKeys: number;

  /**
   * @param skip leading bytes every key shares (the sublevel's prefix and `latest/`), left out of the hash.
   * @param expectedKeys keys the first segment is sized for.
   * @param maxSegmentKeys the largest segment growth adds (doubling stops there).
   */
  constructor(skip = 0, expectedKeys = KEY_FILTER_MIN_KEYS, maxSegmentKeys = KEY_FILTER_MAX_SEGMENT_KEYS) {
    this.#skip = skip;
    this.#segments = [new Segment(Math.max(KEY_FILTER_MIN_KEYS, expectedKeys))];
    this.#maxSegmentKeys = maxSegmentKeys;
  }

  /**
   * The filter as bytes, to keep it across a restart (ChainIndex saves it at a clean stop). Words in little-endian
   * order.
   */
  toBytes(): Buffer {
    const header = Buffer.alloc(9 + 8 * this.#segments.length);
    header.writeUInt8(FILTER_BYTES_VERSION, 0);
    header.writeUInt32BE(this.#skip, 1);
    header.writeUInt32BE(this.#segments.length, 5);
    this.#segments.forEach((segment, i) => {
      header.writeUInt32BE(segment.capacity, 9 + 8 * i);
      header.writeUInt32BE(segment.count, 13 + 8 * i);
    });
    const words = this.#segments.map((segment) => {
      const bytes = Buffer.from(segment.words.buffer, segment.words.byteOffset, segment.words.byteLength);
      // Uint32Array holds the platform's order; the bytes are little-endian on every platform.
      return BIG_ENDIAN_PLATFORM ? Buffer.from(bytes).swap32() : bytes;
    });
    return Buffer.concat([header, ...words]);
  }

  /** The filter `toBytes` wrote, or undefined for bytes that are not one (the caller then rebuilds it). */
  static fromBytes(bytes: Buffer): KeyFilter | undefined {
    if (bytes.length < 9 || bytes.readUInt8(0) !== FILTER_BYTES_VERSION) return undefined;
    const skip = bytes.readUInt32BE(1);
    const count = bytes.readUInt32BE(5);
    if (count === 0 || bytes.length < 9 + 8 * count) return undefined;
    const segments: Segment[] = [];
    let at = 9 + 8 * count;
    for (let i = 0; i < count; i++) {
      const capacity = bytes.readUInt32BE(9 + 8 * i);
      const keys = bytes.readUInt32BE(13 + 8 * i);
      if (capacity < 1 || capacity > MAX_SEGMENT_CAPACITY || keys > capacity) return undefined;
      const length = blocksFor(capacity) * WORDS_PER_BLOCK * 4;
      if (at + length > bytes.length) return undefined;
      const words = new Uint32Array(length / 4);
      new Uint8Array(words.buffer).set(bytes.subarray(at, at + length));
      if (BIG_ENDIAN_PLATFORM) Buffer.from(words.buffer).swap32();
      const segment = new Segment(capacity, words);
      segment.count = keys;
      segments.push(segment);
      at += length;
    }
    if (at !== bytes.length) return undefined;
    const filter = new KeyFilter(skip);
    filter.#segments.splice(0, filter.#segments.length, ...segments);
    return filter;
  }

  /** Leading bytes of every key left out of its hash. */
  get skip(): number {
    return this.#skip;
  }

  /** Keys added so far. */
  get size(): number {
    return this.#segments.reduce((sum, segment) => sum + segment.count, 0);
  }

  /** Bytes of memory the filter holds. */
  get bytes(): number {
    return this.#segments.reduce((sum, segment) => sum + segment.words.byteLength, 0);
  }

  add(key: Uint8Array): void {
    const hashes = new Uint32Array(2);
    this.hashInto(key, hashes, 0);
    this.addHashed(hashes, 0);
  }

  /** False only if `key` was never added. */
  mightContain(key: Uint8Array): boolean {
    const hashes = new Uint32Array(2);
    this.hashInto(key, hashes, 0);
    return this.mightContainHashed(hashes, 0);
  }

  /**
   * Writes the key's two hashes at `hashes[2i]` and `hashes[2i + 1]`, so that a key hashed once can be asked about
   * and added (mightContainHashed, addHashed).
   */
  hashInto(key: Uint8Array, hashes: Uint32Array, i: number): void {
    hashKeyInto(key, 0, key.length, this.#skip, hashes, i);
  }

  /** `hashInto` of the key at [start, end) of `bytes`, without a view of it. */
  hashRangeInto(bytes: Uint8Array, start: number, end: number, hashes: Uint32Array, i: number): void {
    hashKeyInto(bytes, start, end, this.#skip, hashes, i);
  }

  addHashed(hashes: Uint32Array, i: number): void {
    let last = this.#segments[this.#segments.length - 1] as Segment;
    if (last.count >= last.capacity) {
      last = new Segment(Math.max(last.capacity, Math.min(last.capacity * 2, this.#maxSegmentKeys)));
      this.#segments.push(last);
    }
    setBits(last, hashes[2 * i] as number, hashes[2 * i + 1] as number);
    last.count++;
  }

  mightContainHashed(hashes: Uint32Array, i: number): boolean {
    const h1 = hashes[2 * i] as number;
    const h2 = hashes[2 * i + 1] as number;
    for (const segment of this.#segments) if (hasBits(segment, h1, h2)) return true;
    return false;
  }
}

/**
 * Two independent 32-bit hashes of the key at [start, end) of `bytes`, its first `skip` bytes left out (FNV-1a and a
 * multiplicative one, each finished with MurmurHash3's fmix32), written at `hashes[2i]` and `hashes[2i + 1]`: the
 * filter's first picks the block, the second the bits in it. Not for adversaries (a chosen key set can fill a block);
 * a false positive costs only a read. A range, not a view: the bulk paths hash keys where they lie in a slab, and a
 * view per key was ≈ 80 bytes of young garbage (bench/RESULTS.md, "random3").
 */
export function hashKeyInto(
  bytes: Uint8Array,
  start: number,
  end: number,
  skip: number,
  hashes: Uint32Array,
  i: number,
): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let at = start + skip; at < end; at++) {
    const byte = bytes[at] as number;
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x5bd1e995) ^ (b >>> 15);
  }
  hashes[2 * i] = fmix32(a);
  hashes[2 * i + 1] = fmix32(b ^ (end - start));
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function setBits(segment: Segment, h1: number, h2: number): void {
  const base = (h1 % segment.blocks) * WORDS_PER_BLOCK;
  const words = segment.words;
  for (let i = 0; i < WORDS_PER_BLOCK; i++) {
    words[base + i] = (words[base + i] as number) | (1 << (Math.imul(h2, SALT[i] as number) >>> 27));
  }
}

function hasBits(segment: Segment, h1: number, h2: number): boolean {
  const base = (h1 % segment.blocks) * WORDS_PER_BLOCK;
  const words = segment.words;
  for (let i = 0; i < WORDS_PER_BLOCK; i++) {
    if (((words[base + i] as number) & (1 << (Math.imul(h2, SALT[i] as number) >>> 27))) === 0) return false;
  }
  return true;
}
