/**
 * The node's lookup table over the consortium's chain index: subject + kind → the latest anchored leaf, of any
 * institution. The chain holds the entries themselves (AnchorCheckpoint stores them in chunks under each
 * checkpoint, chaincode/src/record-index.ts); every node applies them in chain order, so every node numbers the
 * versions the same way: 1 for the first anchored leaf of a subject and kind, then +1 per anchored leaf.
 *
 * Each anchor is applied in one LevelDB batch together with the chain position it reached, so a crash replays
 * from the last applied anchor; an anchor before the position's block, or of that block and already applied (the
 * position keeps the transactions of its block applied before it), is refused (a stream that repeats or goes back),
 * never applied twice. The batch is not synced: the table is derived from
 * the chain, and losing its newest batches to a power failure only means reading them from the chain again.
 *
 * Numbering a new version needs the stored one: applying an anchor reads only the keys an in-memory filter of every
 * stored key (node/store/key-filter.ts) says may be there; a bulk load's new subjects are not read at all. The filter is
 * filled by a scan of the stored keys that starts with the first apply, and by every apply; until that scan has
 * finished every key is read. Rows written under this index by anything else (the snapshot loader) must be
 * followed by `reload()`, which drops the filter.
 */
import { encodeIndexEntries, scanIndexEntries, type IndexEntriesView } from '../../chaincode/src/protocol.ts';
import type { AnchoredEvent, ChainPosition, IndexEntry } from '../ledger/index.ts';
import type { NodeSublevel } from '../store/index.ts';
import {
  ANCHOR_PREFIX,
  anchorKey,
  decodeLatestRow,
  EARLIER_ANCHOR_PREFIX,
  earlierAnchorKey,
  latestKey,
  latestRowsOf,
  clearMarkedRows,
  LOADING_KEY,
  POSITION_KEY,
  RowSlabs,
  SYNCED,
  storedAnchorKey,
  versionOf,
  type AnchorRow,
  type LatestRows,
} from './index-rows.ts';
import { KeyFilter, RowBatch, StorageFaultError, type RowPut } from '../store/index.ts';
import { SubjectOrder } from './subject-order.ts';

/** Why the index refuses to apply an anchor, as a closed code. */
export type ChainIndexErrorCode =
  /** Applying it again, or out of chain order, would number every version it indexes once more than other nodes. */
  | 'ANCHOR_OUT_OF_ORDER'
  /** A snapshot load failed and could not clear its rows: numbering on top of them would be wrong. */
  | 'UNFINISHED_LOAD';

export class ChainIndexError extends Error {
  override readonly name = 'ChainIndexError';
  constructor(
    readonly code: ChainIndexErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What the chain index says about the latest anchored leaf of a subject and kind. */
export interface ChainIndexRecord {
  readonly subject: string;
  readonly kind: string;
  readonly version: number;
  /** The log that holds the leaf (`lianxin/<MSP>/<shard>`). */
  readonly origin: string;
  readonly leafIndex: number;
  /** Hex RFC 9162 leaf hash. */
  readonly leafHash: string;
  /** Hex SHA-256 of the record's content. */
  readonly recordDigest: string;
  /** Size of the checkpoint whose anchoring indexed the leaf. */
  readonly checkpointSize: number;
  readonly txId: string;
  /** Decimal block number of that transaction. */
  readonly blockNumber: string;
  /** RFC 3339 time of that transaction. */
  readonly anchoredAt: string;
}

/** One anchor that indexed leaves: how far `origin`'s log was anchored, and when. */
export interface AnchoredSize {
  readonly origin: string;
  readonly size: number;
  /** RFC 3339 time of the AnchorCheckpoint transaction. */
  readonly anchoredAt: string;
  /** Decimal. */
  readonly blockNumber: string;
}

/** Anchors joined on read, kept for the next lookups of their entries: lookups cluster on recent anchors. */
const ANCHOR_CACHE_ENTRIES = 1_024;
/** Anchoring history rows per origin at most: a chart's worth (an anchor every 5 s for a day is 17 280). */
export const ANCHOR_HISTORY_LIMIT = 20_000;
/** The marker's value while the index is being cleared (a load's is the snapshot's block number). */
const CLEARING = Buffer.from('clearing');

/** The rows read for some of an anchor's rows: `rows[j]` is row `entries[j]`'s (undefined: none stored). */
interface StoredRows {
  /** Ascending row numbers (rows are in subject order, not leaf order), at least as many as `rows`. */
  readonly entries: Uint32Array;
  readonly rows: readonly (Buffer | undefined)[];
}

/**
 * Numbers each row's version: the stored version (or 0) + 1, or for a key met in an earlier row of the same anchor,
 * that row's version + 1 (the rows of one key keep their leaf order, in the batch too, so the last, highest, wins).
 * Repeats are found through an open-addressing table of row numbers keyed by the keys' hashes, bytes compared on a
 * hash match: no string or Map entry per key.
 */
function numberVersions(rows: LatestRows, hashes: Uint32Array, stored: StoredRows, scratch: ApplyScratch): void {
  const count = rows.count;
  let slots = 16;
  while (slots < 2 * count) slots *= 2;
  const mask = slots - 1;
  const table = scratch.table(slots).fill(-1);
  // Row j's version is set before any later row reads it.
  const versions = scratch.versions(count);
  let read = 0;
  for (let i = 0; i < count; i++) {
    const h1 = hashes[2 * i] as number;
    const h2 = hashes[2 * i + 1] as number;
    let before = 0;
    for (let slot = h1 & mask; ; slot = (slot + 1) & mask) {
      const j = table[slot] as number;
      if (j === -1) {
        table[slot] = i;
        break;
      }
      if (hashes[2 * j] === h1 && hashes[2 * j + 1] === h2 && rows.key(i).equals(rows.key(j))) {
        before = versions[j] as number;
        table[slot] = i;
        break;
      }
    }
    let bytes: Buffer | undefined;
    if (read < stored.rows.length && stored.entries[read] === i) bytes = stored.rows[read++];
    const version = (before > 0 ? before : bytes ? versionOf(bytes) : 0) + 1;
    versions[i] = version;
    rows.setVersion(i, version);
  }
}

/**
 * The memory one apply works in, kept for the next (one anchor's keys, rows, key hashes and the table of repeats,
 * ≈2.2 MB for 10,000 entries, their subject order ≈0.26 MB, and its LevelDB batch, 2–3.5 MB), rather than new memory
 * per anchor that only a GC frees (index-rows.ts, RowSlabs; node/store/row-batch.ts). Used by one apply at a time:
 * `ChainIndex` hands it out and takes it back.
 */
class ApplyScratch {
  readonly slabs = new RowSlabs();
  readonly batch: RowBatch;
  readonly order = new SubjectOrder();
  #hashes = new Uint32Array(0);
  #table = new Int32Array(0);
  #versions = new Uint32Array(0);
  #maybe = new Uint32Array(0);

  constructor(root: NodeSublevel['db']) {
    this.batch = new RowBatch(root);
  }

  /** Two hashes per key of `count` keys; contents left from the last use. */
  hashes(count: number): Uint32Array {
    if (this.#hashes.length < 2 * count) this.#hashes = new Uint32Array(2 * count);
    return this.#hashes.subarray(0, 2 * count);
  }

  table(slots: number): Int32Array {
    if (this.#table.length < slots) this.#table = new Int32Array(slots);
    return this.#table.subarray(0, slots);
  }

  versions(count: number): Uint32Array {
    if (this.#versions.length < count) this.#versions = new Uint32Array(count);
    return this.#versions.subarray(0, count);
  }

  /** Room for `count` row numbers: the rows whose keys are read. */
  maybe(count: number): Uint32Array {
    if (this.#maybe.length < count) this.#maybe = new Uint32Array(count);
    return this.#maybe.subarray(0, count);
  }
}

/** The saved filter's bytes, in rows of at most this many. */
const FILTER_CHUNK_BYTES = 1024 * 1024;
const FILTER_CHUNK = Buffer.from('chunk/');

/** The first key after every `<prefix>…`: its last byte '/' becomes '0'. */
const afterPrefix = (prefix: Buffer): Buffer => Buffer.concat([prefix.subarray(0, -1), Buffer.from('0')]);

/** Keys per read of the filter's scan. */
const SCAN_KEYS_PER_READ = 1_000;
const LATEST_PREFIX = Buffer.from('latest/');
const LATEST_END = afterPrefix(LATEST_PREFIX);
/** The anchor rows' keys, as stored and as earlier versions stored them. */
const STORED_ANCHOR_PREFIX = Buffer.from(ANCHOR_PREFIX);
const EARLIER_ANCHOR_ROWS = { gte: EARLIER_ANCHOR_PREFIX, lt: afterPrefix(EARLIER_ANCHOR_PREFIX) };

interface StoredPosition {
  readonly blockNumber: string;
  readonly transactionId: string;
  /**
   * The anchors of the position's block applied before it, by transaction: a stream that starts that block again
   * must not have them applied twice. Absent when none (and in positions written before it was kept).
   */
  readonly earlierInBlock?: readonly string[];
}

/** The position row as `apply` writes it, for a snapshot loader writing the position of what it loaded. */
export const encodeStoredPosition = (position: StoredPosition): Buffer =>
  Buffer.from(
    JSON.stringify({
      blockNumber: position.blockNumber,
      transactionId: position.transactionId,
      ...(position.earlierInBlock?.length ? { earlierInBlock: position.earlierInBlock } : {}),
    }),
  );

/**
 * Moves the anchor rows of a store of an earlier version from `anchor/…` to where this one keeps them
 * (index-rows.ts, ANCHOR_PREFIX): one row per anchor that indexed leaves (≈2,300 at 23M entries), in one batch, so a
 * crash leaves them all in one place or the other. Read in both places instead, every lookup's join and history
 * would have to look twice for good.
 * @throws StorageFaultError on a store refusing writes (a full or failing disk); the rows are then where they were.
 */
async function moveEarlierAnchorRows(db: NodeSublevel): Promise<void> {
  const rows = await db.iterator(EARLIER_ANCHOR_ROWS).all();
  if (rows.length === 0) return;
  await db.batch(
    rows.flatMap(([key, value]) => [
      { type: 'del' as const, key },
      { type: 'put' as const, key: storedAnchorKey(key), value },
    ]),
  );
}

export class ChainIndex {
  readonly #db: NodeSublevel;
  /**
   * The database the sublevel lives in, and the sublevel's key prefix: `applyEncoded` writes there with the prefix
   * already in its keys. Through the sublevel, every key of every entry was copied once more to prefix it and
   * every operation cloned twice (the sublevel's batch, then its parent's), a third of a follower's apply CPU.
   */
  readonly #root: NodeSublevel['db'];
  readonly #prefix: Buffer;
  #position: ChainPosition | undefined;
  /** The transactions of the position's block applied, the position's own included. */
  #appliedInBlock: ReadonlySet<string> = new Set();
  /**
   * The store refused to move an earlier version's anchor rows at open (moveEarlierAnchorRows): they are read where
   * they are, and move before the next apply writes any row, so that the two names never hold rows at once.
   */
  #earlierAnchorRows: boolean;
  /** No snapshot load's marker was found at the first apply (one is written only before the follower starts). */
  #noUnfinishedLoad = false;
  readonly #anchors = new Map<string, AnchorRow>();
  /** Every stored `latest/` key is in it once `#filterComplete`; undefined until the first apply. */
  #filter: KeyFilter | undefined;
  #filterComplete = false;

  /** Where the filter is kept across a clean stop (`close`); none: every start scans. */
  readonly #filterStore: NodeSublevel | undefined;
  /** The idle apply's memory; an apply running beside another (none does in a node) works in its own. */
  #scratch: ApplyScratch | undefined;
  /** What every `latest/` key starts with, left out of its hash: the sublevel's prefix and `latest/`. */
  readonly #hashSkip: number;

  private constructor(
    db: NodeSublevel,
    position: StoredPosition | undefined,
    earlierAnchorRows: boolean,
    filterStore?: NodeSublevel,
  ) {
    this.#db = db;
    this.#earlierAnchorRows = earlierAnchorRows;
    this.#filterStore = filterStore;
    this.#root = db.db;
    this.#prefix = Buffer.from(db.prefix, 'utf8');
    this.#hashSkip = this.#prefix.length + LATEST_PREFIX.length;
    this.#position = position && { blockNumber: BigInt(position.blockNumber), transactionId: position.transactionId };
    this.#appliedInBlock = new Set(position ? [...(position.earlierInBlock ?? []), position.transactionId] : []);
    this.#scratch = new ApplyScratch(this.#root);
  }

  /**
   * @param filterStore where `close` keeps the key filter for the next open (a sublevel of its own: the index's
   * sublevel is what snapshots digest). A filter kept at another position than the index's is not used.
   */
  static async open(db: NodeSublevel, filterStore?: NodeSublevel): Promise<ChainIndex> {
    // A node refusing to start for want of this one write could not even serve what it has (a full disk).
    const earlierAnchorRows = await moveEarlierAnchorRows(db).then(
      () => false,
      (err: unknown) => {
        if (err instanceof StorageFaultError) return true;
        throw err;
      },
    );
    const stored = await db.get(POSITION_KEY);
    const position = stored === undefined ? undefined : (JSON.parse(stored.toString('utf8')) as StoredPosition);
    const index = new ChainIndex(db, position, earlierAnchorRows, filterStore);
    if (filterStore !== undefined) await index.#takeSavedFilter(filterStore, stored);
    return index;
  }

  /**
   * Uses the filter the last clean stop saved if it was saved at the index's position (nothing applied since), and
   * deletes it either way: from the next apply on it would no longer hold every stored key, so a crash later must
   * find none.
   */
  async #takeSavedFilter(store: NodeSublevel, position: Buffer | undefined): Promise<void> {
    const rows = await store.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }).all();
    if (rows.length === 0) return;
    try {
      // A batch, not clear(): one atomic write (a clear deletes in batches of its own, node/store/node-database.ts).
      await store.batch(rows.map(([key]) => ({ type: 'del' as const, key })));
    } catch {
      // Not deleted (a store refusing writes): not used either; the index scans, as after a crash. The position
      // check still refuses the saved filter once anything has been applied.
      return;
    }
    const saved = rows.find(([key]) => key.equals(POSITION_KEY))?.[1];
    if (saved === undefined || position === undefined || !saved.equals(position)) return;
    const chunks = rows.filter(([key]) => key.subarray(0, FILTER_CHUNK.length).equals(FILTER_CHUNK));
    const filter = KeyFilter.fromBytes(Buffer.concat(chunks.map(([, value]) => value)));
    // Its hashes must be the ones applyEncoded computes.
    if (filter?.skip !== this.#hashSkip) return;
    this.#filter = filter;
    this.#filterComplete = true;
  }

  /**
   * Saves the key filter for the next open, if it is complete, so that a clean restart does not scan every stored
   * key again (≈2-5 µs each). Call after the last apply has ended (the follower stopped), before the database
   * closes. Best effort: a filter not saved is rebuilt by the next start's scan. The index stays usable.
   */
  async close(): Promise<void> {
    const store = this.#filterStore;
    const filter = this.#filter;
    if (store === undefined || filter === undefined || !this.#filterComplete) return;
    const position = await this.#db.get(POSITION_KEY);
    if (position === undefined) return;
    const bytes = filter.toBytes();
    const rows = [{ type: 'put' as const, key: POSITION_KEY, value: position }];
    for (let at = 0, n = 0; at < bytes.length; at += FILTER_CHUNK_BYTES, n++) {
      const key = Buffer.concat([FILTER_CHUNK, Buffer.from(n.toString().padStart(8, '0'))]);
      rows.push({ type: 'put', key, value: bytes.subarray(at, at + FILTER_CHUNK_BYTES) });
    }
    try {
      await store.batch(rows);
    } catch {
      // A store refusing writes (storage-guard.ts) must not stop the node's shutdown for this: the next start scans.
    }
  }

  /**
   * Reads the stored position again, after a snapshot loader (snapshot-loader.ts) wrote rows and a position under
   * this index: the follower then resumes after the snapshot's position.
   */
  async reload(): Promise<void> {
    const reopened = await ChainIndex.open(this.#db);
    this.#position = reopened.#position;
    this.#appliedInBlock = reopened.#appliedInBlock;
    this.#earlierAnchorRows = reopened.#earlierAnchorRows;
    this.#anchors.clear();
    // Rows were written behind the filter's back: the next apply scans them into a new one.
    this.#filter = undefined;
    this.#filterComplete = false;
  }

  /**
   * Drops every row and the position: the index starts over from the chain's first block. For an index whose
   * position the chain does not hold (the ledger restored from an older backup), whose rows may name anchors that
   * are gone. A marker is written first, synced, and removed last (`clearMarkedRows`): a clear cut short by a crash
   * is finished at the next start (`discardUnfinishedLoad`), one that failed (a full disk) when the follower next
   * resumes (`unfinishedClear`), and nothing is applied on top of its rows meanwhile — even if the chain holds the
   * position by then, which would otherwise resume an index with its latest rows gone, every version numbered from 1.
   * Call while nothing applies (the follower's own loop).
   */
  async clear(): Promise<void> {
    this.#noUnfinishedLoad = false;
    await this.#db.put(LOADING_KEY, CLEARING, SYNCED);
    await clearMarkedRows(this.#db);
    // The empty store read as at open: no position, nothing applied, no filter.
    await this.reload();
  }

  /** Whether a clear or a snapshot load of this index was cut short: its marker is still there. */
  async unfinishedClear(): Promise<boolean> {
    return (await this.#db.get(LOADING_KEY)) !== undefined;
  }

  /**
   * Starts filling a filter (in the background) if there is none. Its scan reads from a LevelDB snapshot taken
   * after the filter exists, and each apply adds its keys before writing them, so every key written before the
   * scan's snapshot is scanned and every key written after it is added.
   */
  #startFilter(): void {
    if (this.#filter === undefined) {
      const filter = new KeyFilter(this.#hashSkip);
      this.#filter = filter;
      this.#scanInto(filter).then(
        () => {
          if (this.#filter === filter) this.#filterComplete = true;
        },
        () => {
          // Not complete, so never trusted; the next apply starts a new one (a closed database ends it here).
          if (this.#filter === filter) this.#filter = undefined;
        },
      );
    }
  }

  async #scanInto(filter: KeyFilter): Promise<void> {
    const iterator = this.#root.keys({ gte: this.#prefixed(LATEST_PREFIX), lt: this.#prefixed(LATEST_END) });
    try {
      for (;;) {
        const keys = await iterator.nextv(SCAN_KEYS_PER_READ);
        if (keys.length === 0) return;
        // A reload meanwhile made this filter stale.
        if (this.#filter !== filter) return;
        for (const key of keys) filter.add(key);
      }
    } finally {
      await iterator.close();
    }
  }

  /**
   * Hashes each key and asks the filter about it, then adds it: one pass, so each key's filter block is still in
   * the cache when it is added; asked before the read and added after the write, each of a million-key filter's
   * blocks was fetched twice (≈ 0.1 µs per entry of random subjects: bench/RESULTS.md, "index8"). Adding a key
   * before its row is written keeps the filter a superset of the stored keys, as it must be: a write that fails, or
   * a key repeated later in the same anchor, only makes it answer "maybe", which costs a read. Leaves the keys'
   * hashes in `hashes` and the entries whose key may be stored at the start of `maybe`, and returns their number.
   */
  #askAndAdd(rows: LatestRows, hashes: Uint32Array, maybe: Uint32Array): number {
    const filter = this.#filter;
    const complete = filter !== undefined && this.#filterComplete;
    let count = 0;
    for (let i = 0; i < rows.count; i++) {
      rows.hashKey(i, this.#hashSkip, hashes);
      if (!complete) {
        maybe[count++] = i;
        filter?.addHashed(hashes, i);
      } else if (filter.mightContainHashed(hashes, i)) {
        // Its bits are set already: adding it again would only grow the filter (an anchor retried after a failed
        // write, a subject indexed again).
        maybe[count++] = i;
      } else {
        filter.addHashed(hashes, i);
      }
    }
    return count;
  }

  /** The stored row of each of the first `count` entries of `maybe`, in that order (undefined: none). */
  async #storedRows(rows: LatestRows, maybe: Uint32Array, count: number): Promise<(Buffer | undefined)[]> {
    if (count === 0) return [];
    const keys = new Array<Buffer>(count);
    for (let j = 0; j < count; j++) keys[j] = rows.key(maybe[j] as number);
    return this.#root.getMany(keys);
  }

  /** Whether applying skips reading keys the filter rules out: after the first apply's scan of the stored keys. */
  get keyFilterReady(): boolean {
    return this.#filterComplete;
  }

  /** The last anchor applied; undefined before the first. */
  get position(): ChainPosition | undefined {
    return this.#position;
  }

  async getIndexRecord(subject: string, kind: string): Promise<ChainIndexRecord | undefined> {
    const value = await this.#db.get(latestKey(subject, kind));
    if (value === undefined) return undefined;
    const row = decodeLatestRow(value);
    const anchor = await this.#anchor(row.origin, row.checkpointSize);
    return { subject, kind, ...row, ...anchor };
  }

  async #anchor(origin: string, size: number): Promise<AnchorRow> {
    const id = `${origin}/${size.toString()}`;
    let anchor = this.#anchors.get(id);
    if (anchor === undefined) {
      const key = anchorKey(origin, size);
      // Both names in one read (one LevelDB snapshot) while the rows may be moving (applyEncoded).
      const value = this.#earlierAnchorRows
        ? (await this.#db.getMany([key, earlierAnchorKey(key)])).find((row) => row !== undefined)
        : await this.#db.get(key);
      // Written in the same batch as every row that names it.
      if (value === undefined) throw new Error(`chain index: anchor ${id} is missing`);
      anchor = JSON.parse(value.toString('utf8')) as AnchorRow;
      if (this.#anchors.size >= ANCHOR_CACHE_ENTRIES) this.#anchors.clear();
      this.#anchors.set(id, anchor);
    }
    return anchor;
  }

  /**
   * The anchors applied so far (those that indexed leaves), by origin then size: each institution's anchoring
   * history, read from the rows the lookups join on. At most `limit` rows per origin (default
   * `ANCHOR_HISTORY_LIMIT`), the newest: each origin's read backwards from its newest row, so a page view reads
   * what it shows, not years of anchors. While an earlier version's rows were not moved, both names are read from
   * one LevelDB snapshot: the rows are under one of them, and may be moving.
   */
  async anchorHistory(limit = ANCHOR_HISTORY_LIMIT): Promise<AnchoredSize[]> {
    await using snapshot = this.#db.snapshot();
    const prefixes = this.#earlierAnchorRows ? [EARLIER_ANCHOR_PREFIX, STORED_ANCHOR_PREFIX] : [STORED_ANCHOR_PREFIX];
    const byOrigin = new Map<string, AnchoredSize[]>();
    for (const prefix of prefixes) {
      for (const origin of await this.#anchorOrigins(prefix, snapshot)) {
        // <prefix><origin>/<size20>: zero-padded, so key order is size order.
        const under = Buffer.from(`${String(prefix)}${origin}/`);
        const newest = await this.#db
          .iterator({ gte: under, lt: afterPrefix(under), reverse: true, limit, snapshot })
          .all();
        const rows = byOrigin.get(origin) ?? [];
        for (const [key, value] of newest) {
          const row = JSON.parse(value.toString('utf8')) as AnchorRow;
          const size = Number(key.subarray(-20).toString('utf8'));
          rows.push({ origin, size, anchoredAt: row.anchoredAt, blockNumber: row.blockNumber });
        }
        byOrigin.set(origin, rows);
      }
    }
    return [...byOrigin.keys()]
      .sort()
      .flatMap((origin) => (byOrigin.get(origin) ?? []).sort((x, y) => x.size - y.size).slice(-limit));
  }

  /** The origins with rows under `prefix`, one seek each: the first key past the previous origin's rows. */
  async #anchorOrigins(prefix: Buffer, snapshot: ReturnType<NodeSublevel['snapshot']>): Promise<string[]> {
    const origins: string[] = [];
    const end = afterPrefix(prefix);
    let from = prefix;
    for (;;) {
      const [key] = await this.#db.keys({ gte: from, lt: end, limit: 1, snapshot }).all();
      if (key === undefined) return origins;
      // <prefix><origin>/<size20>: the origin holds slashes itself, the size is the last 20 characters.
      const origin = key.subarray(prefix.length, -21).toString('utf8');
      origins.push(origin);
      from = afterPrefix(Buffer.from(`${String(prefix)}${origin}/`));
    }
  }

  #prefixed(key: Buffer): Buffer {
    return Buffer.concat([this.#prefix, key]);
  }

  /** Applies one anchor's entries (in leaf order) and moves the position past it, atomically. */
  async apply(anchor: AnchoredEvent, anchoredAt: string, entries: readonly IndexEntry[]): Promise<void> {
    await this.applyEncoded(anchor, anchoredAt, scanIndexEntries(encodeIndexEntries(entries), 'lenient'));
  }

  /**
   * Applies one anchor's entries, validated and still in the chain's encoding (the Anchored event carries them so),
   * and moves the position past it, atomically: one LevelDB write per entry and a read only of keys that may be
   * stored, the rows built from the entries' bytes without an object or string per entry.
   */
  async applyEncoded(anchor: AnchoredEvent, anchoredAt: string, entries: IndexEntriesView): Promise<void> {
    this.#refuseOutOfOrder(anchor);
    if (!this.#noUnfinishedLoad) await this.#refuseUnfinishedLoad();
    if (this.#earlierAnchorRows) {
      // Fails, while the store still refuses writes, as this apply's own write would.
      await moveEarlierAnchorRows(this.#db);
      this.#earlierAnchorRows = false;
    }
    const scratch = this.#scratch ?? new ApplyScratch(this.#root);
    this.#scratch = undefined;
    try {
      await this.#applyIn(scratch, anchor, anchoredAt, entries);
    } finally {
      this.#scratch = scratch;
    }
  }

  /**
   * Anchors of the position's block not applied yet are taken: the chain orders a block's transactions, and the
   * index keeps those of the position's block it applied.
   * @throws ChainIndexError `ANCHOR_OUT_OF_ORDER` naming both positions.
   */
  #refuseOutOfOrder(anchor: AnchoredEvent): void {
    const position = this.#position;
    if (position === undefined) return;
    if (anchor.blockNumber > position.blockNumber) return;
    if (anchor.blockNumber === position.blockNumber && !this.#appliedInBlock.has(anchor.transactionId)) return;
    throw new ChainIndexError(
      'ANCHOR_OUT_OF_ORDER',
      `chain index: anchor ${anchor.origin}/${String(anchor.size)} (block ${String(anchor.blockNumber)}, ` +
        `transaction ${anchor.transactionId}) is not after the index's position (block ` +
        `${String(position.blockNumber)}, transaction ${position.transactionId}): not applied again`,
    );
  }

  /**
   * A load or clear whose cleanup failed too (a full disk) leaves its marker with its rows: the follower's next resume
   * clears them (`unfinishedClear`), as the node's next start does (`discardUnfinishedLoad`), and nothing is numbered
   * on top of them until then.
   * @throws ChainIndexError `UNFINISHED_LOAD`.
   */
  async #refuseUnfinishedLoad(): Promise<void> {
    if ((await this.#db.get(LOADING_KEY)) !== undefined) {
      throw new ChainIndexError(
        'UNFINISHED_LOAD',
        'chain index: a snapshot load or a clear failed and could not remove the rows it left: free space on the ' +
          'store; the index clears them at its next retry and starts over from block 0',
      );
    }
    this.#noUnfinishedLoad = true;
  }

  async #applyIn(
    scratch: ApplyScratch,
    anchor: AnchoredEvent,
    anchoredAt: string,
    entries: IndexEntriesView,
  ): Promise<void> {
    // Rows in key order: LevelDB's memtable inserts then follow one another (subject-order.ts).
    const order = scratch.order.of(entries);
    const rows = latestRowsOf(entries, anchor.origin, anchor.size, this.#prefix, scratch.slabs, order);
    this.#startFilter();
    const hashes = scratch.hashes(entries.count);
    const maybe = scratch.maybe(entries.count);
    const maybeCount = this.#askAndAdd(rows, hashes, maybe);
    const stored = await this.#storedRows(rows, maybe, maybeCount);
    // Each subject and kind's stored version, then +1 per entry of this anchor. An anchor may index a pair more
    // than once: its rows keep their leaf order (the subject order is stable), so the last (highest version) wins.
    numberVersions(rows, hashes, { entries: maybe, rows: stored }, scratch);
    const row: AnchorRow = { txId: anchor.transactionId, blockNumber: anchor.blockNumber.toString(), anchoredAt };
    const sameBlock = anchor.blockNumber === this.#position?.blockNumber;
    const earlierInBlock = sameBlock ? [...this.#appliedInBlock] : [];
    const position: StoredPosition = {
      blockNumber: row.blockNumber,
      transactionId: anchor.transactionId,
      earlierInBlock,
    };
    // Through a batch kept for the next anchor (node/store/row-batch.ts), each row's views made as it is put and
    // dropped once LevelDB has copied it: young garbage that no scavenge finds alive. Not synced (see above).
    const more: RowPut[] = [];
    if (entries.count > 0) {
      const key = this.#prefixed(anchorKey(anchor.origin, anchor.size));
      more.push({ type: 'put', key, value: Buffer.from(JSON.stringify(row)) });
    }
    more.push({ type: 'put', key: this.#prefixed(POSITION_KEY), value: encodeStoredPosition(position) });
    await scratch.batch.write(rows, more);
    this.#position = { blockNumber: anchor.blockNumber, transactionId: anchor.transactionId };
    this.#appliedInBlock = new Set([...earlierInBlock, anchor.transactionId]);
  }
}
