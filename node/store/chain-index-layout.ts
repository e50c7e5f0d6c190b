/**
 * Where the chain index's rows live. It keeps a LevelDB of its own (node-database.ts), in `db/chain-index`: in the
 * node's one LevelDB its writes made every level-0 table span from its keys to the records' newest and every
 * compaction merge the tables between (bench/RESULTS.md, "bytes1" and "index9"). It needs no atomic write with the
 * log or the records: it is the node's view of the chain, rebuilt from the chain if lost.
 *
 * A store of an earlier version keeps its chain index where that version put it, among the main database's
 * sublevels: moving millions of rows at start-up would take minutes before the node serves (longer than a
 * supervisor's start-up wait, which would kill it mid-move, again and again) and would need a crash protocol of its
 * own. Such a store works as before; a restore (`lianxin node restore` of its backup) writes the chain index into its own
 * database, so backup and restore is the way to the new layout.
 */
import type { Level } from 'level';

/** The chain index's database, inside the store's directory: LevelDB leaves alone the names it does not own. */
export const CHAIN_INDEX_DIR = 'chain-index';

/** The sublevels of the chain index (node/chain-index: its rows, its saved key filter). */
export const CHAIN_INDEX_SUBLEVELS = ['chain-index', 'chain-index-filter'] as const;

/**
 * Each sublevel's raw keys: abstract-level prefixes them `!name!`, so every one sorts from that prefix (`gte`) to
 * below `!name"` (`lt`).
 */
const RANGES = CHAIN_INDEX_SUBLEVELS.map((name) => ({ gte: Buffer.from(`!${name}!`), lt: Buffer.from(`!${name}"`) }));

/** Whether a raw key (sublevel prefix included) is one of the chain index's rows. */
function isChainIndexKey(key: Buffer): boolean {
  return RANGES.some(({ gte }) => key.length >= gte.length && gte.equals(key.subarray(0, gte.length)));
}

/** Whether `main` holds chain index rows: an earlier version's store, whose chain index stays there. */
export async function holdsChainIndex(main: Level<Buffer, Buffer>): Promise<boolean> {
  for (const range of RANGES) {
    if ((await main.keys({ ...range, limit: 1, keyEncoding: 'buffer' }).all()).length > 0) return true;
  }
  return false;
}

/** Where a backup's raw entry is restored: the chain index's rows in its own database (restore-entries.ts). */
export const nodeEntryPlacement = (key: Buffer): string => (isChainIndexKey(key) ? CHAIN_INDEX_DIR : '');
