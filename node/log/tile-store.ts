/**
 * The log on disk, in one LevelDB keyspace (a sublevel of the node's database):
 *
 *   o               origin (UTF-8)                     s   tree size (u64 BE)
 *   c               latest signed checkpoint note
 *   e‖u64 BE n      leaves [16n, 16n + 16), each as u16 BE length ‖ leaf bytes exactly as appended
 *   t‖u8 level‖u64 BE n   hashes of tree level `level`, indices [256n, 256n + 256), 32 bytes each
 *
 * The `e` rows are entry bundles (full, or the widest partial so far) in the C2SP tlog-tiles encoding, 16 leaves
 * each (constants.ts; C2SP's `tile/entries/N` is 16 consecutive rows): an append of n leaves writes at most
 * ⌈n/16⌉ + 1 rows for them rather than n (LevelDB's cost is mostly per row). Leaves are at most 65,535 bytes.
 *
 * The `t` rows at levels 8L are C2SP tlog-tiles `tile/L/N` byte for byte (full, or the widest partial so far:
 * hashes of complete subtrees never change, so the tile of width W at an older size is a prefix of the stored
 * one). The rows in between store the interior levels a tile reader would recompute, so the hash of any complete
 * subtree (level, index) is one read and a proof or root for any size is O(log n) reads, gathered in one getMany.
 * An append writes its entry bundles, the tiles it touches and the new size in one synced batch: a crash leaves
 * either all of it or none.
 */
import { BUNDLE_WIDTH, MAX_LEAF_BYTES, TILE_WIDTH } from './constants.ts';
import { TransparencyLogError } from './errors.ts';
import { EMPTY_ROOT, HASH_SIZE, HashSlab, LEAF_HASH_PREFIX, nodeHash } from './merkle-hash.ts';
import { rangeSubtrees, type LeafRange, type SubtreeId } from './proof-plan.ts';

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
const SIZE_KEY = Buffer.from('s');
const CHECKPOINT_KEY = Buffer.from('c');
/** The open entry bundle when the size is a multiple of BUNDLE_WIDTH. */
const NO_BYTES = Buffer.alloc(0);

function u64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(Math.floor(value / 2 ** 32), 0);
  bytes.writeUInt32BE(value % 2 ** 32, 4);
  return bytes;
}

function readU64(bytes: Buffer): number {
  return bytes.readUInt32BE(0) * 2 ** 32 + bytes.readUInt32BE(4);
}

function bundleKey(bundle: number): Buffer {
  return Buffer.concat([Buffer.from('e'), u64(bundle)]);
}

/** The entries of a stored bundle, as views of it; CORRUPT unless it holds exactly `count` of them. */
function bundleEntries(bytes: Buffer | undefined, bundle: number, count: number): Buffer[] {
  const entries: Buffer[] = [];
  let at = 0;
  while (bytes !== undefined && at + 2 <= bytes.length && entries.length < count) {
    const end = at + 2 + bytes.readUInt16BE(at);
    if (end > bytes.length) break;
    entries.push(bytes.subarray(at + 2, end));
    at = end;
  }
  if (entries.length < count) {
    throw new TransparencyLogError('CORRUPT', `entry bundle ${bundle} holds fewer than ${count} leaves`);
  }
  return entries;
}

/** Leaves as one run of entry-bundle entries (u16 length ‖ bytes), where each entry starts, and the leaf hashes. */
interface EntryRun {
  readonly bytes: Buffer;
  /** starts[i]: offset of entry i; starts[n]: the end. */
  readonly starts: Uint32Array;
  readonly hashes: readonly Buffer[];
  /** Where the append's node hashes go too. */
  readonly slab: HashSlab;
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
  const slab = new HashSlab();
  const hashes = leaves.map((leaf, i) => {
    const at = starts[i] ?? 0;
    bytes[at] = leaf.length >>> 8;
    bytes[at + 1] = LEAF_HASH_PREFIX;
    bytes.set(leaf, at + 2);
    const hash = slab.sha256(bytes.subarray(at + 1, at + 2 + leaf.length));
    bytes[at + 1] = leaf.length & 0xff;
    return hash;
  });
  return { bytes, starts, hashes, slab };
}

function tileKey(level: number, tile: number): Buffer {
  return Buffer.concat([Buffer.from([0x74, level]), u64(tile)]);
}

/** Number of hashes at `level` in a tree of `size` leaves: one per complete subtree of 2^level leaves. */
function rowLength(size: number, level: number): number {
  return Math.floor(size / 2 ** level);
}

export class TileStore {
  readonly #db: LogDatabase;
  #size: number;
  /** #edges[level]: the hashes of the last, not yet full, tile of that level (right edge of the tree). */
  #edges: Buffer[][];
  /** The stored bytes of the last, not yet full, entry bundle. */
  #openBundle: Buffer;
  #appending: Promise<unknown> = Promise.resolve();

  private constructor(db: LogDatabase, size: number, edges: Buffer[][], openBundle: Buffer) {
    this.#db = db;
    this.#size = size;
    this.#edges = edges;
    this.#openBundle = openBundle;
  }

  /** Opens the log in `db`, creating it for `origin` if empty; refuses a database that holds another origin. */
  static async open(db: LogDatabase, origin: string): Promise<TileStore> {
    const [storedOrigin, storedSize] = await db.getMany([ORIGIN_KEY, SIZE_KEY]);
    if (storedOrigin === undefined && storedSize === undefined) {
      const created: LogPut[] = [
        { type: 'put', key: ORIGIN_KEY, value: Buffer.from(origin, 'utf8') },
        { type: 'put', key: SIZE_KEY, value: u64(0) },
      ];
      await db.batch(created, { sync: true });
      return new TileStore(db, 0, [], NO_BYTES);
    }
    if (storedOrigin?.toString('utf8') !== origin) {
      throw new TransparencyLogError(
        'ORIGIN_MISMATCH',
        `the database holds log ${String(storedOrigin)}, not ${origin}`,
      );
    }
    if (storedSize?.length !== 8) throw new TransparencyLogError('CORRUPT', 'the log has an origin but no size');
    const size = readU64(storedSize);
    const partial: { level: number; width: number; key: Buffer }[] = [];
    for (let level = 0; rowLength(size, level) > 0; level++) {
      const length = rowLength(size, level);
      const width = length % TILE_WIDTH;
      if (width > 0) partial.push({ level, width, key: tileKey(level, Math.floor(length / TILE_WIDTH)) });
    }
    const bundle = Math.floor(size / BUNDLE_WIDTH);
    const [stored, ...tiles] = await db.getMany([bundleKey(bundle), ...partial.map((tile) => tile.key)]);
    const edges: Buffer[][] = [];
    partial.forEach(({ level, width }, i) => {
      edges[level] = splitHashes(requireTile(tiles[i], level, width), width);
    });
    // CORRUPT unless the last bundle holds the leaves the size says it does.
    const openEntries = bundleEntries(stored, bundle, size % BUNDLE_WIDTH);
    const openBundle = openEntries.length === 0 ? NO_BYTES : (stored ?? NO_BYTES).subarray(0, byteLength(openEntries));
    return new TileStore(db, size, edges, openBundle);
  }

  /** The durable tree size: every leaf below it, and every hash over them, is on disk. */
  get size(): number {
    return this.#size;
  }

  /** Appends leaves in one synced batch; concurrent calls are applied one after the other, in call order. */
  append(leaves: readonly Uint8Array[], alongside?: Alongside): Promise<AppendResult> {
    const tooLong = leaves.findIndex((leaf) => leaf.length > MAX_LEAF_BYTES);
    if (tooLong >= 0) {
      return Promise.reject(
        new TransparencyLogError('INVALID_ARGUMENT', `leaf ${tooLong} is longer than ${MAX_LEAF_BYTES} bytes`),
      );
    }
    // Copied now: the bytes hashed are the bytes stored, whatever the caller does with its buffers meanwhile.
    const run = entryRun(leaves);
    const result = this.#appending.then(() => this.#append(run, alongside));
    this.#appending = result.catch(() => undefined);
    return result;
  }

  async #append({ bytes, starts, hashes, slab }: EntryRun, alongside: Alongside | undefined): Promise<AppendResult> {
    const firstIndex = this.#size;
    const count = starts.length - 1;
    if (count === 0) return { firstIndex, size: firstIndex };
    // Work on a copy of the right edge, kept only once the batch is durable.
    const edges = Array.from({ length: this.#edges.length }, (_, level) => [...(this.#edges[level] ?? [])]);
    const puts: LogPut[] = [];
    const unwritten = new Set<number>();
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
      // The new leaf completes the subtree of 2^level leaves ending at it for every 2^level dividing `size`.
      let hash = hashes[i] ?? EMPTY_ROOT;
      for (let level = 0; ; level++) {
        const row = (edges[level] ??= []);
        row.push(hash);
        unwritten.add(level);
        const length = rowLength(size, level);
        // Entry length-1 is odd when length is even: its left sibling is the entry before it, in the same tile.
        const left = length % 2 === 0 ? row.at(-2) : undefined;
        if (length % 2 === 0 && left === undefined) {
          throw new TransparencyLogError('CORRUPT', `the right edge of tree level ${level} lost a hash`);
        }
        if (row.length === TILE_WIDTH) {
          puts.push({ type: 'put', key: tileKey(level, length / TILE_WIDTH - 1), value: Buffer.concat(row) });
          edges[level] = [];
          unwritten.delete(level);
        }
        if (left === undefined) break;
        hash = nodeHash(left, hash, slab);
      }
    }
    for (const level of unwritten) {
      const row = edges[level] ?? [];
      puts.push({
        type: 'put',
        key: tileKey(level, Math.floor(rowLength(size, level) / TILE_WIDTH)),
        value: Buffer.concat(row),
      });
    }
    puts.push({ type: 'put', key: SIZE_KEY, value: u64(size) });
    await this.#db.batch(puts, { sync: true, ...(alongside ? { alongside: alongside(firstIndex) } : {}) });
    this.#edges = edges;
    this.#openBundle = openBundle;
    this.#size = size;
    return { firstIndex, size };
  }

  /** Leaves [start, end) as stored; the caller checks end <= size. */
  async leaves(start: number, end: number): Promise<Buffer[]> {
    if (end <= start) return [];
    const first = Math.floor(start / BUNDLE_WIDTH);
    const last = Math.floor((end - 1) / BUNDLE_WIDTH);
    const keys = Array.from({ length: last - first + 1 }, (_, i) => bundleKey(first + i));
    const bundles = await this.#db.getMany(keys);
    return bundles.flatMap((bytes, i) => {
      const bundle = first + i;
      const from = Math.max(start - bundle * BUNDLE_WIDTH, 0);
      const to = Math.min(end - bundle * BUNDLE_WIDTH, BUNDLE_WIDTH);
      return bundleEntries(bytes, bundle, to).slice(from);
    });
  }

  /**
   * MTH(D[begin:end]) of each range, from one batched read of the tiles holding their complete subtrees. The
   * caller checks every range lies within a size this store has reached; later appends only widen tiles.
   */
  async rangeHashes(ranges: readonly LeafRange[]): Promise<Buffer[]> {
    const subtrees = ranges.map(rangeSubtrees);
    const tileIndex = new Map<string, number>();
    const keys: Buffer[] = [];
    const locate = ({ level, index }: SubtreeId): { slot: number; offset: number } => {
      const tile = Math.floor(index / TILE_WIDTH);
      const id = `${level}/${tile}`;
      let slot = tileIndex.get(id);
      if (slot === undefined) {
        slot = keys.push(tileKey(level, tile)) - 1;
        tileIndex.set(id, slot);
      }
      return { slot, offset: (index % TILE_WIDTH) * HASH_SIZE };
    };
    const located = subtrees.map((list) => list.map((subtree) => ({ subtree, ...locate(subtree) })));
    const tiles = await this.#db.getMany(keys);
    return located.map((list) => {
      const hashes = list.map(({ subtree, slot, offset }) => {
        const tile = tiles[slot];
        if (tile === undefined || tile.length < offset + HASH_SIZE) {
          throw new TransparencyLogError('CORRUPT', `hash ${subtree.index} of tree level ${subtree.level} is missing`);
        }
        return tile.subarray(offset, offset + HASH_SIZE);
      });
      return foldRight(hashes);
    });
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

function requireTile(tile: Buffer | undefined, level: number, width: number): Buffer {
  if (tile === undefined || tile.length < width * HASH_SIZE) {
    throw new TransparencyLogError('CORRUPT', `the last tile of tree level ${level} has fewer than ${width} hashes`);
  }
  return tile;
}

function splitHashes(tile: Buffer, width: number): Buffer[] {
  return Array.from({ length: width }, (_, i) => tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}
