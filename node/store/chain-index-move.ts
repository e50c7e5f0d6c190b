/**
 * The chain index keeps a LevelDB of its own (node-database.ts): its keys are random hashes, so in the node's one
 * LevelDB every level-0 table spanned from them to the records' newest keys and every compaction merged the tables
 * between (bench/RESULTS.md, "bytes1" and "index9"). It needs no atomic write with the log or the records: it is the
 * node's view of the chain, rebuilt from the chain if lost.
 *
 * A store of the previous version, or one restored from a backup (an archive holds every row in one key space, as
 * the previous version's did), has the chain index's rows in the main database: they are moved over when the store
 * opens, before anything reads them.
 */
import type { Level } from 'level';

/** The chain index's database, inside the store's directory: LevelDB leaves alone the names it does not own. */
export const CHAIN_INDEX_DIR = 'chain-index';

/** The sublevels that live in the chain index's database (node/chain-index: its rows, its saved key filter). */
export const CHAIN_INDEX_SUBLEVELS = ['chain-index', 'chain-index-filter'] as const;

/**
 * Set in the chain index's database while a move is under way (outside its sublevels): a move cut short by a crash
 * is taken up again over what it copied; without it, what that database holds is not of these rows (a store
 * opened by this version, then by the previous one, then by this one again) and is dropped before the copy.
 */
const MOVING_KEY = Buffer.from('chain-index-moving');

/** Rows per batch, as restore-entries.ts writes them. */
const BATCH_ROWS = 1_000;

const SYNCED = { sync: true } as const;
const RAW = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

type Db = Level<Buffer, Buffer>;
interface Range {
  readonly gte?: Buffer;
  readonly lt?: Buffer;
}

/** abstract-level's sublevel keys: `!name!key`, so every one of them sorts below `!name"`. */
function sublevelRange(name: string): Range {
  return { gte: Buffer.from(`!${name}!`), lt: Buffer.from(`!${name}"`) };
}

/**
 * Moves the chain index's rows from `main` into `index`: copied (synced), then deleted from `main` (synced), each
 * step safe to repeat after a crash. Nothing is read from `main` past one seek per sublevel when it holds none.
 */
export async function moveChainIndex(main: Db, index: Db): Promise<void> {
  const ranges = CHAIN_INDEX_SUBLEVELS.map(sublevelRange);
  if (!(await holdsAny(main, ranges))) return;
  if (!(await index.has(MOVING_KEY))) {
    await deleteRows(index, {});
    await index.put(MOVING_KEY, Buffer.alloc(0), SYNCED);
  }
  for (const range of ranges) await copyRows(main, index, range);
  for (const range of ranges) await deleteRows(main, range);
  await index.del(MOVING_KEY, SYNCED);
}

async function holdsAny(db: Db, ranges: readonly Range[]): Promise<boolean> {
  for (const range of ranges) {
    if ((await db.keys({ ...range, limit: 1, keyEncoding: 'buffer' }).all()).length > 0) return true;
  }
  return false;
}

async function copyRows(from: Db, to: Db, range: Range): Promise<void> {
  await inBatches(from, range, (rows) => rows.map(([key, value]) => ({ type: 'put' as const, key, value })), to);
}

async function deleteRows(db: Db, range: Range): Promise<void> {
  await inBatches(db, range, (rows) => rows.map(([key]) => ({ type: 'del' as const, key })), db);
}

/**
 * Reads `range` of `from` a batch at a time and writes what `ops` makes of each batch to `to`, each synced: the two
 * databases have a write-ahead log each, so the copy must be durable before the rows it copied are deleted.
 */
async function inBatches(
  from: Db,
  range: Range,
  ops: (rows: [Buffer, Buffer][]) => ({ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer })[],
  to: Db,
): Promise<void> {
  const iterator = from.iterator({ ...range, ...RAW });
  try {
    for (;;) {
      const rows = await iterator.nextv(BATCH_ROWS);
      if (rows.length === 0) break;
      await to.batch(ops(rows), SYNCED);
    }
  } finally {
    await iterator.close();
  }
}
