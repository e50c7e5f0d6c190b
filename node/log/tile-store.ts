/**
 * The log on disk, in one LevelDB keyspace (a sublevel of the node's database):
 *
 *   o               origin (UTF-8)                     s   tree size (u64 BE)
 *   c               latest signed checkpoint note      H   the first subtree of 256 leaves with an `h` row (u64 BE)
 *   e‖u64 BE n      leaves [16n, 16n + 16), each as u16 BE length ‖ leaf bytes exactly as appended
 *   t‖u8 level‖u64 BE n   hashes of tree level `level` (0, and 8 up), indices [256n, 256n + 256), 32 bytes each
 *   h‖u64 BE n      the subtree of leaves [256n, 256n + 256) once complete: its hashes of levels 1 to 7, level 1
 *                   first (128 + 64 + … + 2 = 254 hashes)
 *
 * The `e` rows are entry bundles (full, or the widest partial so far) in the C2SP tlog-tiles encoding, 16 leaves
 * each (constants.ts; C2SP's `tile/entries/N` is 16 consecutive rows): an append of n leaves writes at most
 * ⌈n/16⌉ + 1 rows for them rather than n (LevelDB's cost is mostly per row). Leaves are at most 65,535 bytes.
 *
 * The `t` rows at levels 8L are C2SP tlog-tiles `tile/L/N` byte for byte (full, or the widest partial so far:
 * hashes of complete subtrees never change, so the tile of width W at an older size is a prefix of the stored
 * one). The rows of levels 9 to 15, 17 to 23, … store the interior levels a tile reader would recompute, so the
 * hash of any complete subtree (level, index) is one read and a proof or root for any size is O(log n) reads,
 * gathered in one getMany.
 * The `h` rows hold the interior levels a proof needs within a complete subtree of 256 leaves, so a proof reads two
 * rows (its level-0 tile and that) for the eight levels below 8 instead of eight (levels 8 and up stay in memory,
 * see below). A log written before `h` rows existed has them from the subtree it was at when first reopened (`H`);
 * earlier subtrees read tiles.
 *
 * Levels 1 to 7 are no longer written as `t` rows: of a complete subtree of 256 leaves the `h` row holds them, and
 * of the one subtree not yet complete the right edge in memory does (rebuilt at open from the `h` rows and the
 * level-0 tile). Writing them again cost 32 bytes per leaf, and each append rewrote the partial tile of each of the
 * seven levels (≈ 40 of the ≈ 470 bytes an ingested record wrote). Rows a log wrote at those levels before are
 * still read, for the subtrees before `H`; a log written this way cannot be read by a node of an earlier version.
 * An append writes its entry bundles, the tiles it touches and the new size in one synced batch: a crash leaves
 * either all of it or none.
 */
import { BUNDLE_WIDTH, MAX_LEAF_BYTES, TILE_HEIGHT, TILE_WIDTH } from './constants.ts';
import { bundleEntries, bundleEntry, bundlePair } from './entry-bundle.ts';
import { TransparencyLogError } from './errors.ts';
import {
  EMPTY_ROOT,
  HASH_SIZE,
  HashSlab,
  LEAF_HASH_PREFIX,
  nodeHash,
  nodeHashInto,
  sha256Into,
} from './merkle-hash.ts';
import { rangeSubtrees, type LeafRange, type SubtreeId } from './proof-plan.ts';
import { RecentCache } from './recent-cache.ts';
import { StoredLeaves } from './stored-leaves.ts';

/** One put of an atomic batch. */
export interface LogPut {
  readonly type: 'put';
  readonly key: Buffer;
  readonly value: Buffer;
}

/**
 * Writes of other parts of the node that must land in the same atomic batch as an append (e.g. the records whose
 * evidence the leaves are). Opaque to the log: its database adapter knows what they are.
 */
export type AlongsideWrite = object;

/**
 * What the log needs of its database: a `level` sublevel with Buffer keys and values satisfies it when nothing
 * is written alongside; the node's adapter writes `alongside` in the same batch.
 */
export interface LogDatabase {
  get(key: Buffer): Promise<Buffer | undefined>;
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
  /**
   * The values of the keys in [gte, lte], in key order (an iterator: one pass, not a lookup per key), read ahead
   * up to about `highWaterMarkBytes` at a time where the database takes the hint (classic-level's iterator option).
   */
  values(range: { readonly gte: Buffer; readonly lte: Buffer; readonly highWaterMarkBytes?: number }): {
    all(): Promise<Buffer[]>;
  };
  batch(operations: LogPut[], options: { sync: boolean; alongside?: readonly AlongsideWrite[] }): Promise<void>;
}

/** Given the index the first leaf gets, what to write in the same batch. */
export type Alongside = (firstIndex: number) => readonly AlongsideWrite[];

export interface AppendResult {
  /** Index of the first appended leaf. */
  readonly firstIndex: number;
  /** Tree size after the append. */
  readonly size: number;
}

const ORIGIN_KEY = Buffer.from('o');
export const SIZE_KEY = Buffer.from('s');
export const CHECKPOINT_KEY = Buffer.from('c');
const SUBTREE_ROWS_KEY = Buffer.from('H');
/** The open entry bundle when the size is a multiple of BUNDLE_WIDTH. */
const NO_BYTES = Buffer.alloc(0);
/**
 * Tiles of this tree level and above stay in memory (C2SP tile level 1 up: ~0.25 B per leaf, 2.5 MB at 10M
 * leaves). Every proof and root needs a hash from ~log2(size) - 8 of them; below, tiles are read at random.
 */
const CACHED_LEVEL = 8;
/**
 * Complete rows below CACHED_LEVEL (full level tiles, `h` rows, full entry bundles) remembered: a complete row never
 * changes, so answers near the same leaves (an attestation window, recent records) read it once. Bounded by their
 * bytes, ~8 MiB, the least recently used dropped (recent-cache.ts). A count of 1,024 rows made that bound for
 * 8 KiB tiles, but an entry bundle of 16 credit leaves is ≈ 2 KiB: the count held 512 to 1,024 rows (two
 * generations), fewer than the attest bench's 1,250 bundles, and an attestation read its bundle again about every
 * other time; the byte bound holds ≈ 3,700 such bundles (≈ 60k leaves) in the same memory.
 */
const MAX_COMPLETE_ROW_BYTES = 8 * 1024 * 1024;
/** What a remembered row costs besides its bytes (its Buffer and Map entry), so small rows are bounded too. */
const ROW_OVERHEAD_BYTES = 256;
/** A range of this many entry bundles or more (`leaves`, `storedLeaves`) is read by one iterator, not a point read each. */
const RANGE_READ_BUNDLES = 16;
/**
 * What a range read takes from LevelDB per trip to the thread pool. classic-level's default of 16 KiB read an
 * anchor's 625 bundles (≈ 1.3 MB) in 80 trips, each a promise, a thread-pool task and an array; the whole range in
 * one trip was cheaper still but slowed the ingest's synced writes beside it by 8–18 %; 1 MiB (two trips an anchor)
 * beat both at 1M in three alternated pairs: ANCHORED and acknowledgements higher, the machine's CPU per record lower
 * (bench/RESULTS.md, "issue 13: leaves1" and "04:20–05:00 UTC").
 */
const RANGE_READ_AHEAD_BYTES = 1024 * 1024;
/** Right-edge range hashes remembered (~log2(size) per tree size proofs are asked at); beyond this, start over. */
const MAX_EDGE_RANGES = 4096;

/**
 * Rows in memory are known by a number, not a string (a string built per lookup cost more to hash than the rest
 * of a cached read): index · ROW_KINDS + kind, kind a tree level for `t` rows, SUBTREE_ROW for `h`, BUNDLE_ROW
 * for `e`. Exact while index · 128 < 2^53, i.e. for logs of fewer than 2^46 leaves.
 */
const ROW_KINDS = 128;
const SUBTREE_ROW = 64;
const BUNDLE_ROW = 65;

/** 2^level for the tree levels a row id names: looked up, as `2 ** level` with a variable level is a runtime call. */
const LEVEL_WIDTHS: readonly number[] = Array.from({ length: 64 }, (_, level) => 2 ** level);

function rowId(kind: number, index: number): number {
  return index * ROW_KINDS + kind;
}

function u64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(Math.floor(value / 2 ** 32), 0);
  bytes.writeUInt32BE(value % 2 ** 32, 4);
  return bytes;
}

export function readU64(bytes: Buffer): number {
  return bytes.readUInt32BE(0) * 2 ** 32 + bytes.readUInt32BE(4);
}

function bundleKey(bundle: number): Buffer {
  return Buffer.concat([Buffer.from('e'), u64(bundle)]);
}

/** Hashes of a proof that memory does not hold: their places in the proof, and their ranges. */
interface MissingHashes {
  readonly at: number[];
  readonly ranges: LeafRange[];
}

/** Leaves as one run of entry-bundle entries (u16 length ‖ bytes), where each entry starts, and the leaf hashes. */
interface EntryRun {
  readonly bytes: Buffer;
  /** starts[i]: offset of entry i; starts[n]: the end. */
  readonly starts: Uint32Array;
  /** Leaf i's hash at i · HASH_SIZE: one buffer, not a view per leaf. */
  readonly hashes: Buffer;
}

/**
 * Copies the leaves into one run and hashes each copy in place: the byte before a leaf, the low byte of its
 * length, is 0x00 while it is hashed (RFC 9162 leaf prefix), so no leaf is copied twice.
 */
function entryRun(leaves: readonly Uint8Array[]): EntryRun {
  const starts = new Uint32Array(leaves.length + 1);
  leaves.forEach((leaf, i) => {
    starts[i + 1] = (starts[i] ?? 0) + 2 + leaf.length;
  });
  const bytes = Buffer.allocUnsafe(starts[leaves.length] ?? 0);
  const hashes = Buffer.allocUnsafe(leaves.length * HASH_SIZE);
  leaves.forEach((leaf, i) => {
    const at = starts[i] ?? 0;
    bytes[at] = leaf.length >>> 8;
    bytes[at + 1] = LEAF_HASH_PREFIX;
    bytes.set(leaf, at + 2);
    sha256Into(bytes.subarray(at + 1, at + 2 + leaf.length), hashes, i * HASH_SIZE);
    bytes[at + 1] = leaf.length & 0xff;
  });
  return { bytes, starts, hashes };
}

function tileKey(level: number, tile: number): Buffer {
  return Buffer.concat([Buffer.from([0x74, level]), u64(tile)]);
}

function subtreeKey(subtree: number): Buffer {
  return Buffer.concat([Buffer.from('h'), u64(subtree)]);
}

/** Whether tree level `level` is stored in `t` rows: level 0 and levels 8 and up (see the file comment). */
const isTileLevel = (level: number): boolean => level === 0 || level >= TILE_HEIGHT;

/** Where tree level `level` (1 to 7) starts in an `h` row, in hashes: after 128 + 64 + … of those below. */
const subtreeRowStart = (level: number): number => TILE_WIDTH - ((2 * TILE_WIDTH) >> level);

/** An `h` row's length: levels 1 to 7, 254 hashes. */
const SUBTREE_ROW_BYTES = subtreeRowStart(TILE_HEIGHT) * HASH_SIZE;

/** Number of hashes at `level` in a tree of `size` leaves: one per complete subtree of 2^level leaves. */
function rowLength(size: number, level: number): number {
  return Math.floor(size / 2 ** level);
}

export class TileStore {
  readonly #db: LogDatabase;
  #size: number;
  /**
   * #edges[level]: the hashes of the last, not yet full, tile of that level (right edge of the tree), one after the
   * other in one buffer.
   */
  #edges: Buffer[];
  /**
   * An append's right edge while it is built, a tile's width of hashes per level, kept from one append to the next
   * (appends run one at a time): hashes written into place, not a view each (≈ 2 per leaf, and the chunks under them).
   */
  readonly #edgeRows: Buffer[] = [];
  /** The stored bytes of the last, not yet full, entry bundle. */
  #openBundle: Buffer;
  #appending: Promise<unknown> = Promise.resolve();
  /**
   * Tiles of levels >= CACHED_LEVEL by row id (`rowId(level, tile)`), the widest written or read: a tile at a later size extends
   * the one at an earlier size, so a cached tile answers every hash it holds, partial or not.
   */
  readonly #upper = new Map<number, Buffer>();
  /**
   * Hashes of ranges that are no complete subtree, by end (the tree size whose right edge they lie on), then
   * begin: all proofs at that size share them, and folding them needs low-level tiles that are not kept in memory.
   */
  #edgeRanges = new Map<number, Map<number, Buffer>>();
  #edgeRangeCount = 0;
  /** Complete rows below CACHED_LEVEL (`t`, `h` and `e` rows) by row id, least recently used dropped first. */
  readonly #complete = new RecentCache<Buffer, number>(
    MAX_COMPLETE_ROW_BYTES,
    (row) => row.length + ROW_OVERHEAD_BYTES,
  );

  /** Subtrees of 256 leaves from this one on have an `h` row once complete. */
  readonly #subtreeRowsFrom: number;
  /** Where proofs' sibling leaf hashes go: views of shared chunks, not an ArrayBuffer each. */
  readonly #proofSlab = new HashSlab();
  /** The complete row `#completeRow` found last, and its id. */
  #lastRowId = -1;
  #lastRow: Buffer | undefined;

  private constructor(db: LogDatabase, size: number, edges: Buffer[], openBundle: Buffer, subtreeRowsFrom: number) {
    this.#db = db;
    this.#size = size;
    this.#edges = edges;
    this.#openBundle = openBundle;
    this.#subtreeRowsFrom = subtreeRowsFrom;
  }

  /** Opens the log in `db`, creating it for `origin` if empty; refuses a database that holds another origin. */
  static async open(db: LogDatabase, origin: string): Promise<TileStore> {
    const [storedOrigin, storedSize, storedRowsFrom] = await db.getMany([ORIGIN_KEY, SIZE_KEY, SUBTREE_ROWS_KEY]);
    if (storedOrigin === undefined && storedSize === undefined) {
      const created: LogPut[] = [
        { type: 'put', key: ORIGIN_KEY, value: Buffer.from(origin, 'utf8') },
        { type: 'put', key: SIZE_KEY, value: u64(0) },
        { type: 'put', key: SUBTREE_ROWS_KEY, value: u64(0) },
      ];
      await db.batch(created, { sync: true });
      return new TileStore(db, 0, [], NO_BYTES, 0);
    }
    if (storedOrigin?.toString('utf8') !== origin) {
      throw new TransparencyLogError(
        'ORIGIN_MISMATCH',
        `the database holds log ${String(storedOrigin)}, not ${origin}`,
      );
    }
    if (storedSize?.length !== 8) throw new TransparencyLogError('CORRUPT', 'the log has an origin but no size');
    const size = readU64(storedSize);
    let subtreeRowsFrom = storedRowsFrom?.length === 8 ? readU64(storedRowsFrom) : undefined;
    if (subtreeRowsFrom === undefined) {
      // Written before `h` rows: the subtree in progress gets one when complete (the right edge holds its hashes).
      subtreeRowsFrom = Math.floor(size / TILE_WIDTH);
      await db.batch([{ type: 'put', key: SUBTREE_ROWS_KEY, value: u64(subtreeRowsFrom) }], { sync: true });
    }
    const edges = await readEdges(db, size, subtreeRowsFrom);
    const bundle = Math.floor(size / BUNDLE_WIDTH);
    const [stored] = await db.getMany([bundleKey(bundle)]);
    // CORRUPT unless the last bundle holds the leaves the size says it does.
    const openEntries = bundleEntries(stored, bundle, size % BUNDLE_WIDTH);
    const openBundle = openEntries.length === 0 ? NO_BYTES : (stored ?? NO_BYTES).subarray(0, byteLength(openEntries));
    return new TileStore(db, size, edges, openBundle, subtreeRowsFrom);
  }

  /**
   * Reads the size and right edge again from the database (see TransparencyLog.resync); appends queued meanwhile
   * wait. Resolves to whether the stored tree differed from the one in memory.
   */
  resync(origin: string): Promise<boolean> {
    const result = this.#appending.then(async () => {
      const stored = await TileStore.open(this.#db, origin);
      if (stored.#size === this.#size) return false;
      if (stored.#size < this.#size) {
        throw new TransparencyLogError(
          'CORRUPT',
          `the stored log has ${stored.#size} leaves, ${this.#size} were durable`,
        );
      }
      this.#size = stored.#size;
      this.#edges = stored.#edges;
      this.#openBundle = stored.#openBundle;
      this.#edgeRanges = new Map();
      return true;
    });
    this.#appending = result.catch(() => undefined);
    return result;
  }

  /** The durable tree size: every leaf below it, and every hash over them, is on disk. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends leaves in one synced batch, `alongside`'s writes in it; concurrent calls are applied one after the other,
   * in call order. Rejects INVALID_ARGUMENT for a leaf too long, or for `alongside` with no leaves.
   */
  append(leaves: readonly Uint8Array[], alongside?: Alongside): Promise<AppendResult> {
    const tooLong = leaves.findIndex((leaf) => leaf.length > MAX_LEAF_BYTES);
    if (tooLong >= 0) {
      return Promise.reject(
        new TransparencyLogError('INVALID_ARGUMENT', `leaf ${tooLong} is longer than ${MAX_LEAF_BYTES} bytes`),
      );
    }
    // An append of no leaves writes nothing: writes given along with it would be dropped unwritten.
    if (leaves.length === 0 && alongside !== undefined) {
      return Promise.reject(
        new TransparencyLogError('INVALID_ARGUMENT', 'alongside is given with no leaves: write it on its own'),
      );
    }
    // Copied now: the bytes hashed are the bytes stored, whatever the caller does with its buffers meanwhile.
    const run = entryRun(leaves);
    const result = this.#appending.then(() => this.#append(run, alongside));
    this.#appending = result.catch(() => undefined);
    return result;
  }

  async #append({ bytes, starts, hashes }: EntryRun, alongside: Alongside | undefined): Promise<AppendResult> {
    const firstIndex = this.#size;
    const count = starts.length - 1;
    if (count === 0) return { firstIndex, size: firstIndex };
    // Work on a copy of the right edge, kept only once the batch is durable: each level's hashes in its row of
    // #edgeRows, `widths[level]` of them. A level is copied into its row when the append first reaches it (levels
    // are reached upwards), so an append of a few leaves copies a few levels, not every level's up to 8 KiB.
    const widths = this.#edges.map((edge) => edge.length / HASH_SIZE);
    let copiedLevels = 0;
    const rowOf = (level: number): Buffer => {
      for (; copiedLevels <= level; copiedLevels++) this.#edges[copiedLevels]?.copy(this.#edgeRow(copiedLevels));
      return this.#edgeRow(level);
    };
    const puts: LogPut[] = [];
    /** Tiles of the cached levels this append writes, kept in memory once durable. */
    const upper: { level: number; tile: number; value: Buffer }[] = [];
    const unwritten = new Set<number>();
    /** The hashes of levels 1 to 7 of the subtree of 256 leaves the current leaf completes, if it does. */
    let subtree = NO_BYTES;
    let subtreeEnd = 0;
    let size = firstIndex;
    /** Where the run's part of the bundle being filled starts. */
    let bundleStart = 0;
    let openBundle = this.#openBundle;
    for (let i = 0; i < count; i++) {
      const entryEnd = starts[i + 1] ?? 0;
      size += 1;
      if (size % BUNDLE_WIDTH === 0 || i === count - 1) {
        const part = bytes.subarray(bundleStart, entryEnd);
        const bundle = openBundle.length === 0 ? part : Buffer.concat([openBundle, part]);
        puts.push({ type: 'put', key: bundleKey(Math.floor((size - 1) / BUNDLE_WIDTH)), value: bundle });
        openBundle = size % BUNDLE_WIDTH === 0 ? NO_BYTES : bundle;
        bundleStart = entryEnd;
      }
      // The new leaf completes the subtree of 2^level leaves ending at it for every 2^level dividing `size`; each
      // hash is written where it goes in its level's row, the leaf's here, a node's by the level below.
      hashes.copy(rowOf(0), (widths[0] ?? 0) * HASH_SIZE, i * HASH_SIZE, (i + 1) * HASH_SIZE);
      for (let level = 0; ; level++) {
        const row = rowOf(level);
        const width = (widths[level] ?? 0) + 1;
        widths[level] = width;
        unwritten.add(level);
        const length = rowLength(size, level);
        // Entry length-1 is odd when length is even: its left sibling is the entry before it, in the same tile.
        const paired = length % 2 === 0;
        if (paired && width < 2) {
          throw new TransparencyLogError('CORRUPT', `the right edge of tree level ${level} lost a hash`);
        }
        // The leaf ends a subtree of 256 leaves: it holds the last 256 >> level hashes of each level below 8.
        if (level > 0 && level < TILE_HEIGHT && size % TILE_WIDTH === 0) {
          if (subtreeEnd === 0) subtree = Buffer.allocUnsafe(SUBTREE_ROW_BYTES);
          subtreeEnd += row.copy(subtree, subtreeEnd, (width - (TILE_WIDTH >> level)) * HASH_SIZE, width * HASH_SIZE);
        }
        if (width === TILE_WIDTH) {
          if (isTileLevel(level)) {
            const tile = length / TILE_WIDTH - 1;
            const value = Buffer.from(row);
            puts.push({ type: 'put', key: tileKey(level, tile), value });
            if (level >= CACHED_LEVEL) upper.push({ level, tile, value });
          }
          widths[level] = 0;
          unwritten.delete(level);
        }
        if (!paired) break;
        // The row's bytes stay until overwritten, which only this level's next hash does.
        nodeHashInto(row, (width - 2) * HASH_SIZE, rowOf(level + 1), (widths[level + 1] ?? 0) * HASH_SIZE);
      }
      if (subtreeEnd > 0) {
        puts.push({ type: 'put', key: subtreeKey(size / TILE_WIDTH - 1), value: subtree.subarray(0, subtreeEnd) });
        subtreeEnd = 0;
      }
    }
    // The new right edge: each level this append reached copied out of its row, its partial tile written if a tile
    // level; the levels above it kept as they are (an edge is never written to once kept).
    const edges = widths.map((width, level) => {
      const untouched = level >= copiedLevels ? this.#edges[level] : undefined;
      if (untouched !== undefined) return untouched;
      const kept = Buffer.from(this.#edgeRow(level).subarray(0, width * HASH_SIZE));
      if (unwritten.has(level) && isTileLevel(level)) {
        const tile = Math.floor(rowLength(size, level) / TILE_WIDTH);
        puts.push({ type: 'put', key: tileKey(level, tile), value: kept });
        if (level >= CACHED_LEVEL) upper.push({ level, tile, value: kept });
      }
      return kept;
    });
    puts.push({ type: 'put', key: SIZE_KEY, value: u64(size) });
    await this.#db.batch(puts, { sync: true, ...(alongside ? { alongside: alongside(firstIndex) } : {}) });
    for (const { level, tile, value } of upper) this.#keepUpper(rowId(level, tile), value);
    this.#edges = edges;
    this.#openBundle = openBundle;
    this.#size = size;
    return { firstIndex, size };
  }

  #edgeRow(level: number): Buffer {
    return (this.#edgeRows[level] ??= Buffer.allocUnsafe(TILE_WIDTH * HASH_SIZE));
  }

  /**
   * Leaf `index` as stored (what every attestation reads); the caller checks index < size. As `leaves` for one,
   * without building the list of the bundle's other entries.
   */
  async leaf(index: number): Promise<Buffer> {
    const bundle = Math.floor(index / BUNDLE_WIDTH);
    return bundleEntry(await this.#bundle(bundle), bundle, index - bundle * BUNDLE_WIDTH);
  }

  /**
   * Leaf `index` and the hashes of `path`, its inclusion ranges leaf-first (proof-plan.ts). The first range, when
   * it is the sibling leaf, is in the leaf's own entry bundle (bundles are 16 wide, siblings aligned pairs): its
   * hash is taken from the stored sibling leaf unless its level-0 tile is in memory. The caller checks the ranges
   * lie within the size.
   */
  async leafWithProof(index: number, path: readonly LeafRange[]): Promise<{ leaf: Buffer; hashes: Buffer[] }> {
    const bundle = Math.floor(index / BUNDLE_WIDTH);
    // Remembered bundles and proof hashes are taken without an await: each costs a promise and a microtask turn.
    const bytes = this.#rememberedBundle(bundle) ?? (await this.#readBundle(bundle));
    const position = index - bundle * BUNDLE_WIDTH;
    const first = path[0];
    const sibling = index % 2 === 0 ? index + 1 : index - 1;
    if (first === undefined || first.begin !== sibling || first.end !== sibling + 1) {
      return { leaf: bundleEntry(bytes, bundle, position), hashes: await this.rangeHashes(path) };
    }
    const remembered = this.#rememberedHash(first);
    let leaf: Buffer;
    let hashes: Buffer[];
    if (remembered === undefined) {
      const [even, odd] = bundlePair(bytes, bundle, position - (position % 2));
      leaf = position % 2 === 0 ? even : odd;
      // Into the proof slab: no allocation of its own per answer (merkle-hash.ts HashSlab).
      hashes = [this.#proofSlab.leafHash(position % 2 === 0 ? odd : even)];
    } else {
      leaf = bundleEntry(bytes, bundle, position);
      hashes = [remembered];
    }
    const missing = this.#rememberedHashes(path, 1, hashes);
    if (missing !== undefined) await this.#readMissing(missing, hashes);
    return { leaf, hashes };
  }

  /** The stored entry bundle `bundle`: remembered once read if complete (a complete bundle never changes). */
  async #bundle(bundle: number): Promise<Buffer | undefined> {
    return this.#rememberedBundle(bundle) ?? this.#readBundle(bundle);
  }

  #rememberedBundle(bundle: number): Buffer | undefined {
    return this.#isCompleteBundle(bundle) ? this.#complete.get(rowId(BUNDLE_ROW, bundle)) : undefined;
  }

  async #readBundle(bundle: number): Promise<Buffer | undefined> {
    // Decided before the read: a bundle completed by an append while the read was under way was read partial.
    const complete = this.#isCompleteBundle(bundle);
    const bytes = await this.#db.get(bundleKey(bundle));
    if (bytes !== undefined && complete) {
      this.#complete.set(rowId(BUNDLE_ROW, bundle), bytes);
    }
    return bytes;
  }

  /**
   * Leaves [start, end) as stored; the caller checks end <= size. A wide range is read as `storedLeaves` reads it.
   */
  async leaves(start: number, end: number): Promise<Buffer[]> {
    if (end <= start) return [];
    const first = Math.floor(start / BUNDLE_WIDTH);
    const bundles = await this.#bundleRows(start, end);
    return bundles.flatMap((bytes, i) => {
      const bundle = first + i;
      const from = Math.max(start - bundle * BUNDLE_WIDTH, 0);
      const to = Math.min(end - bundle * BUNDLE_WIDTH, BUNDLE_WIDTH);
      return bundleEntries(bytes, bundle, to).slice(from);
    });
  }

  /**
   * Leaves [start, end) and their RFC 9162 leaf hashes, as the stored entry bundles and level-0 tiles (the hashes
   * not computed again from the leaves), to be walked in place; the caller checks end <= size.
   */
  async storedLeaves(start: number, end: number): Promise<StoredLeaves> {
    if (end <= start) return new StoredLeaves(start, start, [], []);
    const firstTile = Math.floor(start / TILE_WIDTH);
    const lastTile = Math.floor((end - 1) / TILE_WIDTH);
    const [bundles, tiles] = await Promise.all([
      this.#bundleRows(start, end),
      this.#db.getMany(Array.from({ length: lastTile - firstTile + 1 }, (_, i) => tileKey(0, firstTile + i))),
    ]);
    return new StoredLeaves(start, end, bundles, tiles);
  }

  /**
   * The entry bundles holding leaves [start, end), start < end. A wide range (the anchorer's 10,000 leaves) is read
   * in one pass of an iterator: a point read per bundle cost ≈1 µs of main thread per leaf, about as much as the
   * rest of an anchor's index entries. Bundles read so are not remembered: the anchorer reads each once, and 625
   * of them would push out the rows attestations use.
   */
  async #bundleRows(start: number, end: number): Promise<(Buffer | undefined)[]> {
    const first = Math.floor(start / BUNDLE_WIDTH);
    const last = Math.floor((end - 1) / BUNDLE_WIDTH);
    if (last - first + 1 >= RANGE_READ_BUNDLES) return this.#bundleRange(first, last);
    return this.#completeRows(
      Array.from({ length: last - first + 1 }, (_, i) => {
        const bundle = first + i;
        return {
          id: rowId(BUNDLE_ROW, bundle),
          key: () => bundleKey(bundle),
          complete: this.#isCompleteBundle(bundle),
        };
      }),
    );
  }

  /**
   * MTH(D[begin:end]) of each range, from one batched read of the tiles holding their complete subtrees (those in
   * memory are not read). The caller checks every range lies within a size this store has reached; later appends
   * only widen tiles.
   */
  async rangeHashes(ranges: readonly LeafRange[]): Promise<Buffer[]> {
    const hashes: Buffer[] = [];
    const missing = this.#rememberedHashes(ranges, 0, hashes);
    if (missing !== undefined) await this.#readMissing(missing, hashes);
    return hashes;
  }

  /**
   * Appends the hashes of `ranges` from `from` on to `hashes`, those memory holds (upper tiles, remembered rows and
   * right edges: most of a proof), found by arithmetic alone, without the bookkeeping of a read, which cost an
   * attestation more than the rest of its proof. The others are placeholders, returned as missing.
   */
  #rememberedHashes(ranges: readonly LeafRange[], from: number, hashes: Buffer[]): MissingHashes | undefined {
    let missing: MissingHashes | undefined;
    for (let i = from; i < ranges.length; i++) {
      const range = ranges[i] ?? { begin: 0, end: 0 };
      const hash = this.#rememberedHash(range);
      if (hash === undefined) {
        missing ??= { at: [], ranges: [] };
        missing.at.push(hashes.length);
        missing.ranges.push(range);
      }
      hashes.push(hash ?? EMPTY_ROOT);
    }
    return missing;
  }

  /** Reads the missing hashes into their places in `hashes`. */
  async #readMissing(missing: MissingHashes, hashes: Buffer[]): Promise<void> {
    const read = await this.#readRangeHashes(missing.ranges);
    missing.at.forEach((at, i) => {
      const hash = read[i];
      if (hash !== undefined) hashes[at] = hash;
    });
  }

  /**
   * MTH(D[begin:end]) when memory holds it: an edge range folded before, or a complete subtree in a kept upper
   * tile or a remembered complete row. Undefined when it must be read (`#readRangeHashes`).
   */
  #rememberedHash({ begin, end }: LeafRange): Buffer | undefined {
    const width = end - begin;
    const level = subtreeLevel(width);
    if (level < 0 || begin % width !== 0) return this.#edgeRanges.get(end)?.get(begin);
    const index = begin / width;
    let row: Buffer | undefined;
    let offset: number;
    if (level >= CACHED_LEVEL) {
      row = this.#upper.get(rowId(level, Math.floor(index / TILE_WIDTH)));
      offset = (index % TILE_WIDTH) * HASH_SIZE;
    } else {
      const perSubtree = TILE_WIDTH >> level;
      const subtree = Math.floor(index / perSubtree);
      if (level > 0 && subtree >= this.#subtreeRowsFrom && subtree < Math.floor(this.#size / TILE_WIDTH)) {
        row = this.#completeRow(rowId(SUBTREE_ROW, subtree));
        offset = (subtreeRowStart(level) + (index % perSubtree)) * HASH_SIZE;
      } else {
        const id = rowId(level, Math.floor(index / TILE_WIDTH));
        row = this.#isComplete(id) ? this.#completeRow(id) : undefined;
        offset = (index % TILE_WIDTH) * HASH_SIZE;
      }
    }
    return row !== undefined && row.length >= offset + HASH_SIZE ? row.subarray(offset, offset + HASH_SIZE) : undefined;
  }

  /**
   * A remembered complete row, the last one found kept aside: a proof asks the same `h` row for each of its levels
   * 1 to 7, and a complete row never changes, so the one kept aside cannot be stale.
   */
  #completeRow(id: number): Buffer | undefined {
    if (id === this.#lastRowId) return this.#lastRow;
    const row = this.#complete.get(id);
    if (row !== undefined) {
      this.#lastRowId = id;
      this.#lastRow = row;
    }
    return row;
  }

  /** Keeps the hash of an edge range (see `#edgeRanges`); beyond MAX_EDGE_RANGES, starts over. */
  #keepEdgeRange({ begin, end }: LeafRange, hash: Buffer): void {
    if (this.#edgeRangeCount >= MAX_EDGE_RANGES) {
      this.#edgeRanges = new Map();
      this.#edgeRangeCount = 0;
    }
    let atEnd = this.#edgeRanges.get(end);
    if (atEnd === undefined) {
      atEnd = new Map();
      this.#edgeRanges.set(end, atEnd);
    }
    if (!atEnd.has(begin)) this.#edgeRangeCount++;
    atEnd.set(begin, hash);
  }

  /** `rangeHashes` from the database: the rows holding the ranges' complete subtrees, in one batched read. */
  async #readRangeHashes(ranges: readonly LeafRange[]): Promise<Buffer[]> {
    /**
     * Per row needed, by row id: its slot in `rows`, whether it is kept in memory, and the end
     * of the widest hash wanted.
     */
    const needed = new Map<number, { slot: number; key: () => Buffer; keep: boolean; end: number }>();
    const rows: (Buffer | undefined)[] = [];
    const need = (id: number, keep: boolean, key: () => Buffer, offset: number): { slot: number; offset: number } => {
      let entry = needed.get(id);
      if (entry === undefined) {
        entry = { slot: rows.push(keep ? this.#upper.get(id) : undefined) - 1, key, keep, end: 0 };
        needed.set(id, entry);
      }
      entry.end = Math.max(entry.end, offset + HASH_SIZE);
      return { slot: entry.slot, offset };
    };
    const completeSubtrees = Math.floor(this.#size / TILE_WIDTH);
    const edges = this.#edges;
    const size = this.#size;
    const locate = ({ level, index }: SubtreeId): { slot: number; offset: number } => {
      if (level > 0 && level < TILE_HEIGHT) {
        const perSubtree = TILE_WIDTH >> level;
        const subtree = Math.floor(index / perSubtree);
        if (subtree >= completeSubtrees) {
          // In the subtree not yet complete: on the right edge, in memory only (taken now, before any await).
          const edge = edges[level] ?? NO_BYTES;
          const at = index - (rowLength(size, level) - edge.length / HASH_SIZE);
          if (at < 0 || (at + 1) * HASH_SIZE > edge.length) {
            throw new TransparencyLogError('CORRUPT', `hash ${index} of tree level ${level} is not on the right edge`);
          }
          return { slot: rows.push(edge) - 1, offset: at * HASH_SIZE };
        }
        if (subtree >= this.#subtreeRowsFrom) {
          const offset = (subtreeRowStart(level) + (index % perSubtree)) * HASH_SIZE;
          return need(rowId(SUBTREE_ROW, subtree), false, () => subtreeKey(subtree), offset);
        }
      }
      const tile = Math.floor(index / TILE_WIDTH);
      const keep = level >= CACHED_LEVEL;
      return need(rowId(level, tile), keep, () => tileKey(level, tile), (index % TILE_WIDTH) * HASH_SIZE);
    };
    const located = ranges.map((range) => {
      const subtrees = rangeSubtrees(range);
      const edge = subtrees.length > 1;
      const known = edge ? this.#edgeRanges.get(range.end)?.get(range.begin) : undefined;
      return known ?? { range, edge, subtrees: subtrees.map((subtree) => ({ subtree, ...locate(subtree) })) };
    });
    // A cached tile narrower than a wanted hash was cached at an earlier size: read it again.
    const reads = [...needed].filter(([, { slot, end }]) => (rows[slot]?.length ?? 0) < end);
    if (reads.length > 0) {
      const read = await this.#completeRows(
        reads.map(([id, { key, keep }]) => ({ id, key, complete: !keep && this.#isComplete(id) })),
      );
      reads.forEach(([id, { slot, keep }], i) => {
        const row = read[i];
        rows[slot] = row;
        if (keep && row !== undefined) this.#keepUpper(id, row);
      });
    }
    return located.map((range) => {
      if (Buffer.isBuffer(range)) return range;
      const hashes = range.subtrees.map(({ subtree, slot, offset }) => {
        const tile = rows[slot];
        if (tile === undefined || tile.length < offset + HASH_SIZE) {
          throw new TransparencyLogError('CORRUPT', `hash ${subtree.index} of tree level ${subtree.level} is missing`);
        }
        return tile.subarray(offset, offset + HASH_SIZE);
      });
      const hash = foldRight(hashes);
      if (range.edge) this.#keepEdgeRange(range.range, hash);
      return hash;
    });
  }

  /** Whether entry bundle `bundle` holds all BUNDLE_WIDTH of its leaves at the current size: it will not change. */
  #isCompleteBundle(bundle: number): boolean {
    return bundle < Math.floor(this.#size / BUNDLE_WIDTH);
  }

  /** Whether the lower row `id` (a `t` or `h` row) is complete at the current size (an `h` row always is). */
  #isComplete(id: number): boolean {
    const kind = id % ROW_KINDS;
    if (kind === SUBTREE_ROW) return true;
    const tile = (id - kind) / ROW_KINDS;
    return (tile + 1) * TILE_WIDTH * (LEVEL_WIDTHS[kind] ?? 2 ** kind) <= this.#size;
  }

  /**
   * Entry bundles first to last in one iterator pass. The keys between are exactly those bundles' (`e` and a u64),
   * so as many values as bundles means each is there; fewer means one is missing, which the point reads name.
   */
  async #bundleRange(first: number, last: number): Promise<(Buffer | undefined)[]> {
    const range = { gte: bundleKey(first), lte: bundleKey(last), highWaterMarkBytes: RANGE_READ_AHEAD_BYTES };
    const read = await this.#db.values(range).all();
    if (read.length === last - first + 1) return read;
    return this.#db.getMany(Array.from({ length: last - first + 1 }, (_, i) => bundleKey(first + i)));
  }

  /**
   * Rows by key, those marked complete from (and into) the memory of complete rows, the rest read in one getMany.
   * Only rows read back from the database are remembered: what the store holds, durable.
   */
  async #completeRows(
    wanted: readonly { id: number; key: () => Buffer; complete: boolean }[],
  ): Promise<(Buffer | undefined)[]> {
    const rows = wanted.map(({ id, complete }) => (complete ? this.#complete.get(id) : undefined));
    const missing = wanted.filter((_, i) => rows[i] === undefined);
    if (missing.length === 0) return rows;
    const read = await this.#db.getMany(missing.map(({ key }) => key()));
    let next = 0;
    rows.forEach((known, at) => {
      if (known !== undefined) return;
      const row = read[next];
      const { id, complete } = missing[next] ?? { id: -1, complete: false };
      next += 1;
      rows[at] = row;
      if (row === undefined || !complete) return;
      this.#complete.set(id, row);
    });
    return rows;
  }

  /** Keeps an upper-level tile unless a wider one of it is kept already (a read may race an append). */
  #keepUpper(id: number, tile: Buffer): void {
    if ((this.#upper.get(id)?.length ?? 0) < tile.length) this.#upper.set(id, tile);
  }

  /** MTH of the first `size` leaves; the caller checks size <= this.size. */
  async root(size: number): Promise<Buffer> {
    if (size === 0) return EMPTY_ROOT;
    const [root] = await this.rangeHashes([{ begin: 0, end: size }]);
    if (root === undefined) throw new TransparencyLogError('CORRUPT', `no root for size ${size}`);
    return root;
  }

  async loadCheckpoint(): Promise<string | undefined> {
    return (await this.#db.get(CHECKPOINT_KEY))?.toString('utf8');
  }

  async saveCheckpoint(note: string): Promise<void> {
    await this.#db.batch([{ type: 'put', key: CHECKPOINT_KEY, value: Buffer.from(note, 'utf8') }], { sync: true });
  }

  /** Resolves once appends already called have settled. */
  async settled(): Promise<void> {
    await this.#appending;
  }
}

/**
 * The right edge of a tree of `size` leaves: for each level, the hashes of its last, not yet full, tile (in one buffer,
 * as TileStore keeps them). Level 0 and
 * levels 8 and up from their partial `t` rows; levels 1 to 7 (not stored as `t` rows, see the file comment) from the
 * `h` rows of the complete subtrees of 256 leaves the edge spans, from `t` rows for subtrees before
 * `subtreeRowsFrom` (a log that wrote them), and for the subtree not yet complete, hashed up from its level-0 hashes.
 */
async function readEdges(db: LogDatabase, size: number, subtreeRowsFrom: number): Promise<Buffer[]> {
  const completeSubtrees = Math.floor(size / TILE_WIDTH);
  const keys: Buffer[] = [];
  const slots = new Map<string, number>();
  const slot = (id: string, key: () => Buffer): number => {
    let at = slots.get(id);
    if (at === undefined) slots.set(id, (at = keys.push(key()) - 1));
    return at;
  };
  /** Per level: where each edge hash is, as (row slot, hash offset), or undefined for the incomplete subtree. */
  const plan: { level: number; width: number; at: ({ slot: number; offset: number } | undefined)[] }[] = [];
  for (let level = 0; rowLength(size, level) > 0; level++) {
    const length = rowLength(size, level);
    const width = length % TILE_WIDTH;
    if (width === 0) continue;
    const tile = Math.floor(length / TILE_WIDTH);
    const at: ({ slot: number; offset: number } | undefined)[] = [];
    for (let index = length - width; index < length; index++) {
      const offset = (index % TILE_WIDTH) * HASH_SIZE;
      if (isTileLevel(level)) {
        at.push({ slot: slot(`t${level}`, () => tileKey(level, tile)), offset });
        continue;
      }
      const perSubtree = TILE_WIDTH >> level;
      const subtree = Math.floor(index / perSubtree);
      if (subtree >= completeSubtrees) at.push(undefined);
      else if (subtree < subtreeRowsFrom) at.push({ slot: slot(`t${level}`, () => tileKey(level, tile)), offset });
      else {
        const rowOffset = (subtreeRowStart(level) + (index % perSubtree)) * HASH_SIZE;
        at.push({ slot: slot(`h${subtree}`, () => subtreeKey(subtree)), offset: rowOffset });
      }
    }
    plan.push({ level, width, at });
  }
  const rows = keys.length === 0 ? [] : await db.getMany(keys);
  const edges: Buffer[][] = [];
  for (const { level, at } of plan) {
    edges[level] = at.map((where, i) => {
      if (where === undefined) return EMPTY_ROOT; // filled in below
      const row = rows[where.slot];
      if (row === undefined || row.length < where.offset + HASH_SIZE) {
        const index = rowLength(size, level) - at.length + i;
        throw new TransparencyLogError('CORRUPT', `hash ${index} of tree level ${level} is missing`);
      }
      return row.subarray(where.offset, where.offset + HASH_SIZE);
    });
  }
  // The subtree not yet complete: its level-0 hashes are the whole partial level-0 tile; each level above pairs them.
  let below = edges[0] ?? [];
  for (let level = 1; level < TILE_HEIGHT && below.length > 1; level++) {
    const above = Array.from({ length: below.length >> 1 }, (_, j) =>
      nodeHash(below[2 * j] ?? EMPTY_ROOT, below[2 * j + 1] ?? EMPTY_ROOT),
    );
    const edge = edges[level] ?? [];
    edge.splice(edge.length - above.length, above.length, ...above);
    below = above;
  }
  return Array.from({ length: edges.length }, (_, level) => Buffer.concat(edges[level] ?? []));
}

/** log2(width) when `width` is a power of two (a complete subtree's leaf count), else -1. */
function subtreeLevel(width: number): number {
  if (width < 1) return -1;
  // Bit operations for the widths of logs below 2^31 leaves: `2 ** level` with a variable exponent is a call into
  // V8's runtime (≈ 50 ns against ≈ 4), and a proof asks this of every one of its ≈ log2(size) ranges.
  if (width < 2 ** 31) return (width & (width - 1)) === 0 ? 31 - Math.clz32(width) : -1;
  const level = Math.floor(Math.log2(width));
  return 2 ** level === width ? level : -1;
}

/** H(c1, H(c2, … H(c_{k-1}, c_k))): the hash of a range from its complete subtrees, largest first. */
function foldRight(hashes: readonly Buffer[]): Buffer {
  let acc = hashes.at(-1);
  if (acc === undefined) throw new TransparencyLogError('CORRUPT', 'an empty range has no hash');
  for (const hash of hashes.slice(0, -1).reverse()) acc = nodeHash(hash, acc);
  return acc;
}

function byteLength(entries: readonly Buffer[]): number {
  return entries.reduce((sum, entry) => sum + 2 + entry.length, 0);
}
