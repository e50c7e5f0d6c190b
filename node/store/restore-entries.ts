/**
 * Writes a backup's raw entries into a new LevelDB store (a node's or the ledger's), the inverse of snapshotEntries.
 * The store must be new: entries are written as they come, without reading what is there, so a store with entries of its own
 * would end up a mix of two states.
 */
import { join } from 'node:path';
import { Level } from 'level';
import { assertLevelDbRunsHere } from '../../network/leveldb/binding-cpu.ts';
import { syncDirectory } from '../../network/fs/index.ts';

/** Entries per batch: LevelDB's write buffer takes a few MiB comfortably. */
const BATCH_ENTRIES = 1_000;

/**
 * Where an entry of a store kept in more than one LevelDB goes: a directory under the store's (the node's chain
 * index, chain-index-layout.ts), or '' for the store's own.
 */
export type EntryPlacement = (key: Buffer) => string;

/** One LevelDB being written, and its batch not yet written. */
interface Target {
  readonly db: Level<Buffer, Buffer>;
  batch: { type: 'put'; key: Buffer; value: Buffer }[];
}

/**
 * Creates the store in `dir` (LevelDB refuses with `errorIfExists` when one is there), and any database under it
 * that `placement` names, and writes the entries, durably once it returns.
 * @returns how many entries were written.
 */
export async function restoreStoreEntries(
  dir: string,
  entries: AsyncIterable<[Buffer, Buffer]>,
  placement: EntryPlacement = () => '',
): Promise<number> {
  assertLevelDbRunsHere();
  const targets = new Map<string, Target>();
  const open = async (subdir: string): Promise<Target> => {
    const db = new Level<Buffer, Buffer>(subdir === '' ? dir : join(dir, subdir), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      createIfMissing: true,
      errorIfExists: true,
    });
    await db.open();
    const target = { db, batch: [] };
    targets.set(subdir, target);
    return target;
  };
  // The store's own first: it creates `dir`, and refuses one already there before anything is written.
  await open('');
  let count = 0;
  try {
    for await (const [key, value] of entries) {
      const subdir = placement(key);
      const target = targets.get(subdir) ?? (await open(subdir));
      target.batch.push({ type: 'put', key, value });
      count++;
      if (target.batch.length === BATCH_ENTRIES) {
        await target.db.batch(target.batch);
        target.batch = [];
      }
    }
    for (const { db, batch } of targets.values()) if (batch.length > 0) await db.batch(batch);
  } finally {
    await Promise.all([...targets.values()].map(({ db }) => db.close()));
  }
  // No write is synced: the reopen makes them durable. Opened again, each database replays every write-ahead log it
  // has (read through the page cache, synced or not) into a table it syncs, then syncs the MANIFEST naming those
  // tables and its directory, before it deletes the logs (LevelDB 1.20's recovery with reuse_logs off, its default
  // and classic-level's). A crash before the reopen has returned leaves the restore unfinished, which the callers'
  // `.restoring` name records (restore-target.ts): nothing was promised durable yet. LevelDB then renames its CURRENT
  // file to the new MANIFEST and deletes the old one and the logs without syncing the directory again: synced here,
  // so that a power loss cannot leave CURRENT naming a MANIFEST that is gone (file systems that order directory
  // changes, ext4 and XFS, never would; POSIX does not say).
  for (const [subdir, { db }] of targets) {
    await db.open({ createIfMissing: false, errorIfExists: false });
    await db.close();
    await syncDirectory(subdir === '' ? dir : join(dir, subdir));
  }
  return count;
}
