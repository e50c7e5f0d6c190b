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

/** Rows per batch of the copy, as restore-entries.ts writes them. */
const BATCH_ROWS = 1_000;

const SYNCED = { sync: true } as const;
const EMPTY = Buffer.alloc(0);

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
 * Moves the chain index's rows from `main` into `index`: copied, then deleted from `main`, each step made durable
 * before the next begins and safe to repeat after a crash. Nothing is read from `main` past one seek per sublevel
 * when it holds none.
 * @param onStart told before a move begins: ≈ 14 s of wall time per million rows measured on a loaded machine.
 */
export async function moveChainIndex(main: Db, index: Db, onStart?: () => void): Promise<void> {
  const ranges = CHAIN_INDEX_SUBLEVELS.map(sublevelRange);
  if (!(await holdsAny(main, ranges))) return;
  onStart?.();
  if (!(await index.has(MOVING_KEY))) {
    await index.clear();
    await index.put(MOVING_KEY, EMPTY, SYNCED);
  }
  for (const range of ranges) await copyRows(main, index, range);
  // A synced write makes every earlier write of its database durable (LevelDB's log, or a table it was flushed to):
  // one fsync for the copy, one for the deletes, not one per batch.
  await index.put(MOVING_KEY, EMPTY, SYNCED);
  for (const range of ranges) await main.clear(range);
  // The main database never holds the marker: deleting it there is the synced write that makes the clear durable.
  await main.del(MOVING_KEY, SYNCED);
  await index.del(MOVING_KEY, SYNCED);
}

async function holdsAny(db: Db, ranges: readonly Range[]): Promise<boolean> {
  for (const range of ranges) {
    if ((await db.keys({ ...range, limit: 1, keyEncoding: 'buffer' }).all()).length > 0) return true;
  }
  return false;
}

async function copyRows(from: Db, to: Db, range: Range): Promise<void> {
  const iterator = from.iterator({ ...range, keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    for (;;) {
      const rows = await iterator.nextv(BATCH_ROWS);
      if (rows.length === 0) return;
      await to.batch(rows.map(([key, value]) => ({ type: 'put', key, value })));
    }
  } finally {
    await iterator.close();
  }
}
