/**
 * The node's one LevelDB: a sublevel per capability, so that an ingest writes the log's leaves and tiles and the
 * records they are evidence of in one atomic, synced batch (a crash keeps all of it or none).
 *
 * A damaged store is refused at open with a NodeStoreError naming it, rather than failing later on the first read
 * of a damaged file: LevelDB itself refuses a bad CURRENT or MANIFEST at open, but opens a table file only when a
 * read needs it, so open also checks every live table against the size the MANIFEST recorded for it.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import type { AlongsideWrite, LogDatabase, LogPut } from '../log/index.ts';
import { NodeStoreError } from './errors.ts';

function openSublevel(db: Level<Buffer, Buffer>, name: string) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}

export type NodeSublevel = ReturnType<typeof openSublevel>;

/** A put or delete into one of the node's sublevels, written alongside a log append. */
export interface SublevelWrite {
  readonly type: 'put' | 'del';
  readonly sublevel: NodeSublevel;
  readonly key: Buffer;
  readonly value?: Buffer;
}

export interface NodeDatabase extends AsyncDisposable {
  readonly records: NodeSublevel;
  readonly anchor: NodeSublevel;
  /** The node's view of the consortium's chain index (node/chain-index), rebuilt from the chain if lost. */
  readonly chainIndex: NodeSublevel;
  /** The report exchange's request IDs and nonces seen (node/p2p ReplayGuard). */
  readonly exchangeReplay: NodeSublevel;
  /** The report exchange's bundles, provided and obtained, and receipts pending on chain (node/p2p journal). */
  readonly exchangeJournal: NodeSublevel;
  /** The log's keyspace, as node/log wants it: its appends carry SublevelWrites along. */
  readonly log: LogDatabase;
  /** Writes to any sublevels in one atomic, synced batch. */
  readonly write: (writes: readonly SublevelWrite[]) => Promise<void>;
  /**
   * Every entry of every sublevel as stored (raw keys, sublevel prefix included), read from one LevelDB snapshot
   * taken when iteration starts: writes made meanwhile are not seen, so an online backup is consistent.
   */
  snapshotEntries(): AsyncIterable<[Buffer, Buffer]>;
  close(): Promise<void>;
}

/**
 * Opens (or creates) the node's database in `dir`.
 * @throws NodeStoreError `STORE_CORRUPT`, `STORE_LOCKED` or `STORE_UNREADABLE`, its message one line for the
 * operator.
 */
export async function openNodeDatabase(dir: string): Promise<NodeDatabase> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open();
  } catch (err) {
    throw openError(dir, err);
  }
  try {
    await checkTables(db, dir);
  } catch (err) {
    await db.close();
    throw err;
  }
  const logLevel = openSublevel(db, 'log');
  const records = openSublevel(db, 'records');
  const anchor = openSublevel(db, 'anchor');
  const chainIndex = openSublevel(db, 'chain-index');
  const exchangeReplay = openSublevel(db, 'exchange-replay');
  const exchangeJournal = openSublevel(db, 'exchange-journal');
  // A sublevel opens after its database, asynchronously; getSync needs it open.
  await Promise.all(
    [logLevel, records, anchor, chainIndex, exchangeReplay, exchangeJournal].map((sublevel) => sublevel.open()),
  );
  const log: LogDatabase = {
    // Point reads of the log are synchronous (classic-level getSync): ≈3 µs of main thread for a cached block,
    // against ≈8 µs plus a thread-pool round trip asynchronously (an attestation makes two: its bundle, its proof).
    // The price: a read that misses the OS page cache blocks the event loop for that disk read (≈0.1 ms on SSD).
    get: (key) => asPromise(() => logLevel.getSync(key)),
    getMany: (keys) => asPromise(() => keys.map((key) => logLevel.getSync(key))),
    batch: (operations: LogPut[], options: { sync: boolean; alongside?: readonly AlongsideWrite[] }) =>
      db.batch(
        [
          ...operations.map((op) => ({ ...op, sublevel: logLevel })),
          // The only writer of alongside entries is this node's code, through SublevelWrite.
          ...((options.alongside ?? []) as readonly SublevelWrite[]).map(toBatchOperation),
        ],
        { sync: options.sync },
      ),
  };
  const close = () => db.close();
  return {
    write: (writes) => db.batch(writes.map(toBatchOperation), { sync: true }),
    // abstract-level: an iterator reads from an implicit snapshot taken when it is created.
    snapshotEntries: () => db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
    records,
    anchor,
    chainIndex,
    exchangeReplay,
    exchangeJournal,
    log,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Why the store did not open, for the operator. What is true of this node's store: its records and its
 * transparency log exist only here (the chain holds their checkpoints and index entries, not the records), so a
 * damaged store is restored from a backup; moved aside, the node starts empty and they are lost.
 */
function openError(dir: string, err: unknown): NodeStoreError {
  const path = resolve(dir);
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const detail = oneLine(typeof cause?.message === 'string' ? cause.message : String(err));
  if (cause?.code === 'LEVEL_LOCKED') {
    return new NodeStoreError(
      'STORE_LOCKED',
      path,
      `node store ${path} is in use by another process (${detail}): stop the other node on this data dir`,
      { cause: err },
    );
  }
  if (cause?.code === 'LEVEL_CORRUPTION' || (cause?.code === 'LEVEL_IO_ERROR' && !/permission/i.test(detail))) {
    return corrupt(path, detail, err);
  }
  return new NodeStoreError(
    'STORE_UNREADABLE',
    path,
    `node store ${path} cannot be read (${detail}): check the data dir's permissions and disk`,
    { cause: err },
  );
}

function corrupt(path: string, detail: string, cause?: unknown): NodeStoreError {
  return new NodeStoreError(
    'STORE_CORRUPT',
    path,
    `node store ${path} is damaged (${detail}): restore the node's data dir from a backup; its records and log ` +
      'are kept only there, not on the chain, so moving it aside starts the node empty and loses them',
    { cause },
  );
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** `leveldb.sstables` lists each live table as ` <number>:<size>[<smallest> .. <largest>]`, one per line. */
const LIVE_TABLE = /^ (\d+):(\d+)\[/gm;

/**
 * Every live table is there at the size the MANIFEST recorded (a truncated or lost table is otherwise found only
 * when a read reaches it). One stat per table; a table that a compaction removed meanwhile is not live any more.
 */
async function checkTables(db: Level<Buffer, Buffer>, dir: string): Promise<void> {
  const live = () => new Map([...sstables(db).matchAll(LIVE_TABLE)].map((m) => [m[1], m[2]]));
  for (const [number, size] of live()) {
    if (number === undefined || size === undefined) continue;
    const name = `${number.padStart(6, '0')}.ldb`;
    // Tables written by LevelDB before 1.14 are named .sst.
    const found = (await sizeOf(join(dir, name))) ?? (await sizeOf(join(dir, name.replace(/ldb$/, 'sst'))));
    if (found === Number(size)) continue;
    if (found === undefined && !live().has(number)) continue;
    const what = found === undefined ? 'is missing' : `holds ${found} of its ${size} bytes`;
    throw corrupt(resolve(dir), `table ${name} ${what}`);
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

function toBatchOperation(write: SublevelWrite) {
  return write.type === 'put'
    ? { type: 'put' as const, sublevel: write.sublevel, key: write.key, value: write.value ?? Buffer.alloc(0) }
    : { type: 'del' as const, sublevel: write.sublevel, key: write.key };
}
