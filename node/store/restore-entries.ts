/**
 * Writes a backup's raw entries into a new LevelDB store (a node's or the ledger's), the inverse of snapshotEntries. The store must
 * be new: entries are written as they come, without reading what is there, so a store with entries of its own
 * would end up a mix of two states.
 */
import { Level } from 'level';

/** Entries per batch: LevelDB's write buffer takes a few MiB comfortably. */
const BATCH_ENTRIES = 1_000;

/**
 * Creates the store in `dir` (LevelDB refuses with `errorIfExists` when one is there) and writes the entries;
 * the last batch is synced, so a returned restore is durable.
 * @returns how many entries were written.
 */
export async function restoreStoreEntries(dir: string, entries: AsyncIterable<[Buffer, Buffer]>): Promise<number> {
  const db = new Level<Buffer, Buffer>(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    createIfMissing: true,
    errorIfExists: true,
  });
  await db.open();
  let count = 0;
  try {
    let batch: { type: 'put'; key: Buffer; value: Buffer }[] = [];
    for await (const [key, value] of entries) {
      // Flushed before it takes one more, so the batch left at the end is never empty: it carries the sync.
      if (batch.length === BATCH_ENTRIES) {
        await db.batch(batch);
        batch = [];
      }
      batch.push({ type: 'put', key, value });
      count++;
    }
    if (batch.length > 0) await db.batch(batch, { sync: true });
  } finally {
    await db.close();
  }
  return count;
}
