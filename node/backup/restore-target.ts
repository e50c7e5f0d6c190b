/**
 * A restore writes its store under a name nothing opens (`<store>.restoring`) and renames it into place once every
 * entry is durable. A LevelDB left by a restore killed midway opens without complaint, missing whatever was not
 * written yet: in place, a node or ledger started on it would have taken it for the backup's whole state.
 */
import { open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NodeStoreError, restoreStoreEntries, type EntryPlacement } from '../store/index.ts';
import { BackupError } from './errors.ts';

export const RESTORING_SUFFIX = '.restoring';

/** Where a restore of `storeDir` is written until it is complete. */
export const restoringDir = (storeDir: string): string => `${storeDir}${RESTORING_SUFFIX}`;

/**
 * Writes the entries into `restoringDir(storeDir)`, then renames it to `storeDir`, the rename itself made durable.
 * @returns how many entries were written.
 */
export async function restoreStoreAtomically(
  storeDir: string,
  entries: AsyncIterable<[Buffer, Buffer]>,
  placement?: EntryPlacement,
): Promise<number> {
  const count = await restoreStoreEntries(restoringDir(storeDir), entries, placement);
  try {
    await rename(restoringDir(storeDir), storeDir);
    await syncDirectory(dirname(storeDir));
  } catch (err) {
    throw new BackupError('FILE_ERROR', `cannot move the restored store into ${storeDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return count;
}

/** The directory's entries (a rename in it) on the disk: Linux syncs a directory through a read-only descriptor. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a node store a restore was writing when it stopped (killed, or the disk failed): the node must not start on
 * a data dir without its store, nor create an empty one beside the unfinished restore.
 * @throws NodeStoreError `STORE_INCOMPLETE`
 */
export async function refuseUnfinishedRestore(storeDir: string): Promise<void> {
  const restoring = restoringDir(storeDir);
  try {
    await stat(restoring);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const dataDir = dirname(storeDir);
  throw new NodeStoreError(
    'STORE_INCOMPLETE',
    storeDir,
    `node store ${storeDir}: a restore into ${dataDir} did not finish (${restoring} is left); ` +
      `remove ${dataDir} and run lianxin node restore again`,
  );
}
