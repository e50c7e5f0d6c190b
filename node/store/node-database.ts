/**
 * The node's LevelDB: a sublevel per capability, so that an ingest writes the log's leaves and tiles and the
 * records they are evidence of in one atomic, synced batch (a crash keeps all of it or none). The chain index, which
 * needs no such batch, has a LevelDB of its own inside the store's directory (chain-index-layout.ts).
 *
 * A damaged store is refused at open with a NodeStoreError naming it, rather than failing later on the first read
 * of a damaged file: LevelDB itself refuses a bad CURRENT or MANIFEST at open, but opens a table file only when a
 * read needs it, so open also checks every live table against the size the MANIFEST recorded for it.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import { assertLevelDbRunsHere } from '../../network/leveldb/binding-cpu.ts';
import type { AlongsideWrite, LogDatabase, LogPut } from '../log/index.ts';
import { CHAIN_INDEX_DIR, CHAIN_INDEX_SUBLEVELS, holdsChainIndex } from './chain-index-layout.ts';
import { NodeStoreError } from './errors.ts';
import { checkRoomToReopen } from './reopen-room.ts';
import { classifyStorageFault, StorageGuard, type StorageFault } from './storage-guard.ts';
import { RowBatch, type IndexedRows, type RowSink } from './row-batch.ts';

function openSublevel(db: Level<Buffer, Buffer>, name: string) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}

export type NodeSublevel = ReturnType<typeof openSublevel>;

/** A sublevel's row as the database holds it, and snapshotEntries yields it: `!name!` (abstract-level's) and its key. */
export const storedKey = (sublevel: string, key: Buffer): Buffer => Buffer.concat([Buffer.from(`!${sublevel}!`), key]);

/** A put of bytes the node built itself, its key already prefixed with its sublevel's (RowBatch). */
export interface RowPut {
  readonly type: 'put';
  readonly key: Buffer;
  readonly value: Buffer;
}

/** A put or delete into one of the node's sublevels, written alongside a log append. */
export interface SublevelWrite {
  readonly type: 'put' | 'del';
  readonly sublevel: NodeSublevel;
  readonly key: Buffer;
  readonly value?: Buffer;
}

/**
 * Puts of many rows into one of the node's sublevels, written alongside a log append, their keys already prefixed
 * with the sublevel's (`prefixKey`): a commit's records, without an object per row.
 */
export interface SublevelRows {
  readonly type: 'rows';
  readonly sublevel: NodeSublevel;
  readonly rows: IndexedRows;
}

export interface NodeDatabase extends AsyncDisposable {
  readonly records: NodeSublevel;
  readonly anchor: NodeSublevel;
  /**
   * The node's view of the consortium's chain index (node/chain-index), rebuilt from the chain if lost: in a LevelDB
   * of its own (chain-index-layout.ts), so that its writes do not widen every compaction of the records and log; in
   * an earlier version's store, among the main database's sublevels.
   */
  readonly chainIndex: NodeSublevel;
  /** The chain index's key filter, kept across a clean stop (node/store/key-filter.ts); not in its snapshots. */
  readonly chainIndexFilter: NodeSublevel;
  /** The report exchange's request IDs and nonces seen (node/p2p ReplayGuard). */
  readonly exchangeReplay: NodeSublevel;
  /** The report exchange's bundles, provided and obtained, and receipts pending on chain (node/p2p journal). */
  readonly exchangeJournal: NodeSublevel;
  /** The log's keyspace, as node/log wants it: its appends carry SublevelWrites along. */
  readonly log: LogDatabase;
  /**
   * Writes to any sublevels of the main database in one atomic, synced batch: not to the chain index's, which live
   * in a database of their own and are written through their own handles.
   */
  readonly write: (writes: readonly SublevelWrite[]) => Promise<void>;
  /**
   * Every entry of every sublevel of both databases as stored (raw keys, sublevel prefix included), in key order,
   * read from a snapshot of each taken when iteration starts: writes made meanwhile are not seen, so an online
   * backup is consistent (the chain index needs no consistency with the rest: it is a view of the chain).
   */
  snapshotEntries(): AsyncIterable<[Buffer, Buffer]>;
  /** The store's fault state and free-space watermark (storage-guard.ts). */
  readonly storage: StorageGuard;
  close(): Promise<void>;
}

/**
 * LevelDB's memory, as classic-level's open options (bytes): the block cache and two write buffers at most are
 * anonymous memory; (min(1000, maxOpenFiles − 10)) table files of about maxFileSize are mmapped at most (LevelDB
 * maps each table its table cache opens, up to 1,000 per process). `compression`: snappy on the tables' blocks,
 * classic-level's default (on), which the node keeps: off measured no CPU gain and the same disk bytes at 1M records
 * (bench/RESULTS.md, "store10"); a database written either way reads under either (leveldb-tuning.test.ts). Unset
 * fields take classic-level's defaults.
 */
export interface LevelDbTuning {
  readonly cacheSize?: number;
  readonly writeBufferSize?: number;
  readonly maxOpenFiles?: number;
  readonly maxFileSize?: number;
  readonly compression?: boolean;
}

export interface NodeDatabaseOptions {
  /** LevelDB's open options that bound its memory (node config `storage.leveldb`). */
  readonly leveldb?: Readonly<LevelDbTuning>;
  /** The chain index database's, where it has one of its own; `leveldb` when unset. */
  readonly chainIndexLeveldb?: Readonly<LevelDbTuning>;
  /** Ingest is refused while fewer bytes than this are free on the store's file system; default 0 (none). */
  readonly minFreeBytes?: number;
  /** ... or less than this percentage of it; default 0 (none). */
  readonly minFreePercent?: number;
  /** How often a store in a fault tries to leave it; default 1000. */
  readonly probeIntervalMs?: number;
  readonly onStorageChange?: (fault: StorageFault | undefined) => void;
  /**
   * TEST ONLY: consulted before every write; an error it returns fails the write as though LevelDB had (the
   * storage-fault tests where no small file system can be mounted). Production code never sets it.
   */
  readonly injectWriteFault?: () => Error | undefined;
}

/** What the guarded Level writes through: classic-level's own implementations, which the subclass wraps. */
interface LevelWrites {
  _batch(this: unknown, operations: unknown, options: unknown): Promise<void>;
  _put(this: unknown, key: unknown, value: unknown, options: unknown): Promise<void>;
  _del(this: unknown, key: unknown, options: unknown): Promise<void>;
  _clear(this: unknown, options: unknown): Promise<void>;
  _chainedBatch(this: unknown): NativeChainedBatch;
}

/** classic-level's chained batch: rows go into a native WriteBatch one call each, `_write` commits it. */
interface NativeChainedBatch {
  _write(options: Record<string, unknown>): Promise<void>;
}
const LEVEL_WRITES = Level.prototype as unknown as LevelWrites;

/** The option that marks the guard's probe write: the one write let through while the store is in a fault. */
const PROBE_OPTION = 'lianxinStorageProbe';

/**
 * Every write of the node, whichever sublevel it names, reaches LevelDB through one of these methods (an array
 * batch, a put, a del, a clear of a range, or a chained batch's commit): the one place where a fault is noticed and where writes are
 * refused while the store is in one.
 */
class GuardedLevel extends Level<Buffer, Buffer> {
  guard: StorageGuard | undefined;
  injectWriteFault: (() => Error | undefined) | undefined;
  /** A write failed here since the last reopen: the storage guard's probe reopens this database. */
  writeFailed = false;

  async _batch(operations: unknown, options: Record<string, unknown>): Promise<void> {
    await this.#guarded(options, () => LEVEL_WRITES._batch.call(this, operations, options));
  }

  async _put(key: unknown, value: unknown, options: Record<string, unknown>): Promise<void> {
    await this.#guarded(options, () => LEVEL_WRITES._put.call(this, key, value, options));
  }

  async _del(key: unknown, options: Record<string, unknown>): Promise<void> {
    await this.#guarded(options, () => LEVEL_WRITES._del.call(this, key, options));
  }

  // A clear deletes in batches of its own inside LevelDB (the snapshot loader's cleanup of a failed load).
  async _clear(options: Record<string, unknown>): Promise<void> {
    await this.#guarded(options, () => LEVEL_WRITES._clear.call(this, options));
  }

  // A chained batch (`db.batch()` with no arguments: every write of the node's own through a RowBatch, and the
  // snapshot loader's bulk writes) commits through its own `_write`, not through `_batch`; that commit is guarded the
  // same way.
  _chainedBatch(): NativeChainedBatch {
    const batch = LEVEL_WRITES._chainedBatch.call(this);
    const write = batch._write.bind(batch);
    batch._write = (options) => this.#guarded(options, () => write(options));
    return batch;
  }

  async #guarded(options: Record<string, unknown> | undefined, write: () => Promise<void>): Promise<void> {
    if (options?.[PROBE_OPTION] !== true) this.guard?.checkWritable();
    try {
      const injected = this.injectWriteFault?.();
      if (injected) throw injected;
      await write();
    } catch (err) {
      this.writeFailed = true;
      throw this.guard ? this.guard.failed(err) : err;
    }
  }
}

/**
 * Opens (or creates) the node's database in `dir`, and the chain index's own LevelDB in `dir/chain-index` — unless
 * the store is an earlier version's, whose chain index stays among the main database's sublevels
 * (chain-index-layout.ts). Each database takes the `leveldb` tuning (the chain index's own, `chainIndexLeveldb` when
 * given): its cache, write buffers and open files are each database's.
 * @throws NodeStoreError `STORE_CORRUPT`, `STORE_LOCKED` or `STORE_UNREADABLE`, its message one line for the
 * operator; LevelDbBindingError, before anything is opened, where the LevelDB build cannot run on this CPU.
 */
export async function openNodeDatabase(
  dir: string,
  options: Readonly<NodeDatabaseOptions> = {},
): Promise<NodeDatabase> {
  assertLevelDbRunsHere();
  const main = await openGuardedLevel(dir, 'main', options.leveldb, options.injectWriteFault);
  const db = asLevel(main);
  const indexDir = join(dir, CHAIN_INDEX_DIR);
  let own: GuardedLevel | undefined;
  try {
    // An earlier version's store keeps its chain index among the main database's sublevels (chain-index-layout.ts).
    if (!(await holdsChainIndex(db))) {
      own = await openGuardedLevel(
        indexDir,
        'chainIndex',
        options.chainIndexLeveldb ?? options.leveldb,
        options.injectWriteFault,
      );
    }
  } catch (err) {
    await main.close();
    throw err;
  }
  const indexDb = own === undefined ? db : asLevel(own);
  const logLevel = openSublevel(db, 'log');
  const records = openSublevel(db, 'records');
  const anchor = openSublevel(db, 'anchor');
  const exchangeReplay = openSublevel(db, 'exchange-replay');
  const exchangeJournal = openSublevel(db, 'exchange-journal');
  const probeLevel = openSublevel(db, 'storage-probe');
  const chainIndex = openSublevel(indexDb, CHAIN_INDEX_SUBLEVELS[0]);
  const chainIndexFilter = openSublevel(indexDb, CHAIN_INDEX_SUBLEVELS[1]);
  const mainSublevels = [logLevel, records, anchor, exchangeReplay, exchangeJournal, probeLevel];
  const indexSublevels = [chainIndex, chainIndexFilter];
  // Each database with the sublevels it holds, reopened on its own after a fault (reopenDatabase).
  const databases: Database[] =
    own === undefined
      ? [{ guarded: main, dir, kind: 'main', sublevels: [...mainSublevels, ...indexSublevels] }]
      : [
          { guarded: main, dir, kind: 'main', sublevels: mainSublevels },
          { guarded: own, dir: indexDir, kind: 'chainIndex', sublevels: indexSublevels },
        ];
  const closeAll = async () => {
    await Promise.all(databases.map(({ guarded }) => guarded.close()));
  };
  try {
    // A sublevel opens after its database, asynchronously; getSync needs it open.
    await Promise.all(databases.flatMap(({ sublevels }) => sublevels.map((sublevel) => sublevel.open())));
  } catch (err) {
    await closeAll();
    throw err;
  }
  const storage = new StorageGuard({
    dir,
    minFreeBytes: options.minFreeBytes ?? 0,
    minFreePercent: options.minFreePercent ?? 0,
    probeIntervalMs: options.probeIntervalMs ?? 1_000,
    // The same Level and sublevel objects, closed and opened again: every holder of a sublevel keeps using it.
    // A fault met in either database refuses writes to both, and both are probed; only one a write failed in is
    // reopened (LevelDB keeps such an error for good), so the other serves its reads meanwhile — and that one too
    // until its disk has room for the reopen (reopen-room.ts).
    reopen: async () => {
      const failed = databases.filter(({ guarded }) => guarded.writeFailed);
      const names = failed.map(({ dir: at, kind }) => `${STORES[kind].name} ${resolve(at)}`).join(' and ');
      await checkRoomToReopen(
        names,
        failed.map(({ dir: at }) => at),
        storage.retryAfterMs,
      );
      const reopened = await Promise.allSettled(failed.map(reopenDatabase));
      for (const result of reopened) if (result.status === 'rejected') throw result.reason;
    },
    probe: async () => {
      const probeOptions = { sync: true, [PROBE_OPTION]: true };
      const value = Buffer.from(String(Date.now()));
      await db.batch([{ type: 'put', sublevel: probeLevel, key: PROBE_KEY, value }], probeOptions);
      // At the chain index database's root, out of its sublevels: its backup reads only those.
      if (own) await indexDb.batch([{ type: 'put', key: INDEX_PROBE_KEY, value }], probeOptions);
    },
    ...(options.onStorageChange && { onChange: options.onStorageChange }),
  });
  main.guard = storage;
  if (own) own.guard = storage;
  await storage.start();
  // The atomic batch is the main database's: a chain index sublevel of the other would be written at its root.
  const foreign = new Set<NodeSublevel>(own === undefined ? [] : indexSublevels);
  const idleBatches: RowBatch[] = [];
  // Every write of the node's own (the log's appends with their records, the store's other writes) goes through a
  // batch kept from one write to the next (row-batch.ts says why); writes may overlap, so each takes one not in use.
  const writeRows = async (fill: (sink: RowSink) => void, sync: boolean): Promise<void> => {
    // Refused, while the guard reopens the store, with the fault rather than abstract-level's "not open".
    storage.checkWritable();
    const rowBatch = idleBatches.pop() ?? new RowBatch(db);
    try {
      await rowBatch.writeWith(fill, sync);
    } finally {
      idleBatches.push(rowBatch);
    }
  };
  const log: LogDatabase = {
    // Point reads of the log are synchronous (classic-level getSync): ≈3 µs of main thread for a cached block,
    // against ≈8 µs plus a thread-pool round trip asynchronously (an attestation makes two: its bundle, its proof).
    // The price: a read that misses the OS page cache blocks the event loop for that disk read (≈0.1 ms on SSD).
    get: (key) => asPromise(() => logLevel.getSync(key)),
    getMany: (keys) => asPromise(() => keys.map((key) => logLevel.getSync(key))),
    // A range (the anchorer's leaves) in one iterator pass, on the thread pool.
    values: (range) => logLevel.values(range),
    batch: (operations: LogPut[], options: { sync: boolean; alongside?: readonly AlongsideWrite[] }) =>
      writeRows((sink) => {
        for (const { key, value } of operations) sink.put(logLevel.prefixKey(key, 'buffer', false), value);
        // The only writer of alongside entries is this node's code, through SublevelWrite and SublevelRows.
        addRows(sink, (options.alongside ?? []) as readonly (SublevelWrite | SublevelRows)[], foreign);
      }, options.sync),
  };
  const close = async () => {
    storage.stop();
    await closeAll();
  };
  return {
    storage,
    write: (writes) =>
      writeRows((sink) => {
        addRows(sink, writes, foreign);
      }, true),
    snapshotEntries: () =>
      mergedEntries([
        () => db.iterator(RAW),
        ...(own === undefined ? [] : [() => indexDb.iterator({ ...RAW, ...SUBLEVEL_ROWS })]),
      ]),
    records,
    anchor,
    chainIndex,
    chainIndexFilter,
    exchangeReplay,
    exchangeJournal,
    log,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A Level like any other to its users; the typings tie a sublevel to its parent's exact class. */
const asLevel = (level: GuardedLevel) => level as unknown as Level<Buffer, Buffer>;

/** One of the store's LevelDBs, with the sublevels it holds. */
interface Database {
  readonly guarded: GuardedLevel;
  readonly dir: string;
  readonly kind: StoreKind;
  readonly sublevels: readonly NodeSublevel[];
}

/**
 * Closes a database and opens it again with its sublevels (the storage guard's way out of a fault); a database that
 * does not open again is named, with what to do (openError), in the fault's reason.
 */
async function reopenDatabase({ guarded, dir, kind, sublevels }: Database): Promise<void> {
  await guarded.close();
  try {
    await guarded.open();
  } catch (err) {
    throw openError(dir, kind, err);
  }
  await Promise.all(sublevels.map((sublevel) => sublevel.open()));
  guarded.writeFailed = false;
}

/** A Level whose writes pass the storage guard, opened on `dir` and its tables checked. */
async function openGuardedLevel(
  dir: string,
  kind: StoreKind,
  tuning: Readonly<LevelDbTuning> | undefined,
  injectWriteFault: (() => Error | undefined) | undefined,
): Promise<GuardedLevel> {
  const level = new GuardedLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', ...tuning });
  level.injectWriteFault = injectWriteFault;
  try {
    await level.open();
  } catch (err) {
    throw openError(dir, kind, err);
  }
  try {
    await checkTables(asLevel(level), dir, kind);
  } catch (err) {
    await level.close();
    throw err;
  }
  return level;
}

/**
 * Every entry of the store's databases in key order, as one database held them before the chain index had its own:
 * a backup's archive is what it was. The iterators are created together when iteration starts, so their snapshots
 * are of the same moment (abstract-level: an iterator reads from an implicit snapshot taken when it is created), and
 * only then: a caller that fails before iterating (a backup file it cannot create) leaves no snapshot held.
 */
async function* mergedEntries(open: readonly (() => EntryIterator)[]): AsyncGenerator<[Buffer, Buffer]> {
  const iterators = open.map((iterator) => iterator());
  try {
    const streams = await Promise.all(iterators.map(async (iterator) => ({ iterator, head: await iterator.next() })));
    for (;;) {
      let least: (typeof streams)[number] | undefined;
      for (const stream of streams) {
        if (stream.head && (!least?.head || Buffer.compare(stream.head[0], least.head[0]) < 0)) least = stream;
      }
      if (least?.head === undefined) return;
      yield least.head;
      least.head = await least.iterator.next();
    }
  } finally {
    await Promise.all(iterators.map((iterator) => iterator.close()));
  }
}

/** What mergedEntries needs of an abstract-level iterator. */
interface EntryIterator {
  next(): Promise<[Buffer, Buffer] | undefined>;
  close(): Promise<void>;
}
const RAW = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
/** The rows of a database's sublevels (`!name!key`), not what lies at its root (the storage probe's key). */
const SUBLEVEL_ROWS = { gte: Buffer.from('!'), lt: Buffer.from('"') } as const;

/**
 * What the operator is told of each database. The main one: the node's records and transparency log exist only
 * there (the chain holds their checkpoints and index entries, not the records), so a damaged one is restored from a
 * backup; moved aside, the node starts empty and they are lost. The chain index's: a view of the chain, rebuilt
 * from it.
 */
const STORES = {
  main: {
    name: 'node store',
    remedy:
      "restore the node's data dir from a backup; its records and log are kept only there, not on the chain, so " +
      'moving it aside starts the node empty and loses them',
  },
  chainIndex: {
    name: 'node chain index',
    remedy:
      "remove that directory and start the node again: it rebuilds it from the chain (or a peer's snapshot); the " +
      "node's records and log are not in it",
  },
} as const;

type StoreKind = keyof typeof STORES;

/** Why a database did not open, for the operator. */
function openError(dir: string, kind: StoreKind, err: unknown): NodeStoreError {
  const path = resolve(dir);
  const { name } = STORES[kind];
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const detail = oneLine(typeof cause?.message === 'string' ? cause.message : String(err));
  if (cause?.code === 'LEVEL_LOCKED') {
    return new NodeStoreError(
      'STORE_LOCKED',
      path,
      `${name} ${path} is in use by another process (${detail}): stop the other node on this data dir`,
      { cause: err },
    );
  }
  // LevelDB writes at open (a new MANIFEST and log): on a full disk it fails with an I/O error that is no damage —
  // an operator told to restore a backup would lose every record acknowledged since.
  if (classifyStorageFault(err) === 'STORAGE_FULL') {
    return new NodeStoreError(
      'STORE_UNREADABLE',
      path,
      `${name} ${path} cannot be opened: its disk is full (${detail}): free space on that disk; the store is not damaged`,
      { cause: err },
    );
  }
  if (cause?.code === 'LEVEL_CORRUPTION' || (cause?.code === 'LEVEL_IO_ERROR' && !/permission/i.test(detail))) {
    return corrupt(path, kind, detail, err);
  }
  return new NodeStoreError(
    'STORE_UNREADABLE',
    path,
    `${name} ${path} cannot be read (${detail}): check the data dir's permissions and disk`,
    { cause: err },
  );
}

function corrupt(path: string, kind: StoreKind, detail: string, cause?: unknown): NodeStoreError {
  const { name, remedy } = STORES[kind];
  return new NodeStoreError('STORE_CORRUPT', path, `${name} ${path} is damaged (${detail}): ${remedy}`, { cause });
}

const PROBE_KEY = Buffer.from('probe');
const INDEX_PROBE_KEY = Buffer.from('storage-probe');

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** `leveldb.sstables` lists each live table as ` <number>:<size>[<smallest> .. <largest>]`, one per line. */
const LIVE_TABLE = /^ (\d+):(\d+)\[/gm;

/**
 * Every live table is there at the size the MANIFEST recorded (a truncated or lost table is otherwise found only
 * when a read reaches it). One stat per table; a table that a compaction removed meanwhile is not live any more.
 */
async function checkTables(db: Level<Buffer, Buffer>, dir: string, kind: StoreKind): Promise<void> {
  const live = () => new Map([...sstables(db).matchAll(LIVE_TABLE)].map((m) => [m[1], m[2]]));
  for (const [number, size] of live()) {
    if (number === undefined || size === undefined) continue;
    const name = `${number.padStart(6, '0')}.ldb`;
    // Tables written by LevelDB before 1.14 are named .sst.
    const found = (await sizeOf(join(dir, name))) ?? (await sizeOf(join(dir, name.replace(/ldb$/, 'sst'))));
    if (found === Number(size)) continue;
    if (found === undefined && !live().has(number)) continue;
    const what = found === undefined ? 'is missing' : `holds ${found} of its ${size} bytes`;
    throw corrupt(resolve(dir), kind, `table ${name} ${what}`);
  }
}

/** classic-level's getProperty, left out of `level`'s cross-platform type (on Node.js `level` is classic-level). */
function sstables(db: Level<Buffer, Buffer>): string {
  return (db as unknown as { getProperty(property: string): string }).getProperty('leveldb.sstables');
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A synchronous read where a promise is expected: what it throws rejects the promise. */
export function asPromise<T>(read: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(read());
  });
}

/**
 * The writes into a RowBatch's sink, keys prefixed with their sublevel's.
 * @throws TypeError for a write to a sublevel of `foreign`: a caller's mistake, which would otherwise be lost.
 */
function addRows(
  sink: RowSink,
  writes: readonly (SublevelWrite | SublevelRows)[],
  foreign: ReadonlySet<NodeSublevel>,
): void {
  for (const write of writes) {
    const { sublevel } = write;
    if (foreign.has(sublevel)) throw foreignWrite(write.type);
    if (write.type === 'rows') {
      const { rows } = write;
      for (let i = 0; i < rows.count; i++) sink.put(rows.key(i), rows.value(i));
    } else {
      const key = sublevel.prefixKey(write.key, 'buffer', false);
      if (write.type === 'put') sink.put(key, write.value ?? EMPTY);
      else sink.del(key);
    }
  }
}

const foreignWrite = (type: string) =>
  new TypeError(`the chain index has a database of its own: ${type} its rows through its own handles`);

const EMPTY = Buffer.alloc(0);
