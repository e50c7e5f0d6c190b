/**
 * A restore writes its store under a name nothing opens (`<store>.restoring`, network/ledger/store's
 * unfinished-restore.ts) and renames it into place once every entry is durable. A LevelDB left by a restore killed
 * midway opens without complaint, missing whatever was not written yet: in place, a node or ledger started on it
 * would have taken it for the backup's whole state.
 */
import { mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { restoreLeftUnfinished, restoringDir } from '../../network/ledger/store/index.ts';
import { assertLevelDbRunsHere } from '../../network/leveldb/binding-cpu.ts';
import { syncDirectory } from '../../network/fs/index.ts';
import { NodeStoreError, restoreStoreEntries, type EntryPlacement } from '../store/index.ts';
import { BackupError } from './errors.ts';

/**
 * Creates `storeDir`'s parent as needed (mode 0700), writes the entries into `restoringDir(storeDir)`, renames it to
 * `storeDir`, and syncs the directories that changed: the rename's, and each one created with the entry naming it,
 * so that after a power loss the store is there whole or the restore left its `.restoring` behind.
 * @returns how many entries were written.
 */
export async function restoreStoreAtomically(
  storeDir: string,
  entries: AsyncIterable<[Buffer, Buffer]>,
  placement?: EntryPlacement,
): Promise<number> {
  // Before anything is created: a refused restore leaves no directory behind.
  assertLevelDbRunsHere();
  const parent = dirname(storeDir);
  const created = await mkdir(parent, { recursive: true, mode: 0o700 });
  const count = await restoreStoreEntries(restoringDir(storeDir), entries, placement);
  try {
    await rename(restoringDir(storeDir), storeDir);
  } catch (err) {
    throw new BackupError('FILE_ERROR', `cannot move the restored store into ${storeDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // The rename's directory, then up to the one that names the first directory mkdir created.
  const changed = [parent];
  if (created !== undefined) {
    for (let dir = parent; dir !== dirname(created);) {
      dir = dirname(dir);
      changed.push(dir);
    }
  }
  for (const dir of changed) {
    try {
      await syncDirectory(dir);
    } catch (err) {
      throw new BackupError(
        'FILE_ERROR',
        `restored into ${storeDir}, but ${dir} could not be synced: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return count;
}

/**
 * Refuses a node store a restore was writing when it stopped (killed, or the disk failed): the node must not start on
 * a data dir without its store, nor create an empty one beside the unfinished restore.
 * @throws NodeStoreError `STORE_INCOMPLETE`, or `STORE_UNREADABLE` when the data dir cannot be read
 */
export async function refuseUnfinishedRestore(storeDir: string): Promise<void> {
  const dataDir = dirname(storeDir);
  let unfinished: boolean;
  try {
    unfinished = await restoreLeftUnfinished(storeDir);
  } catch (err) {
    throw new NodeStoreError('STORE_UNREADABLE', storeDir, `cannot read ${dataDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!unfinished) return;
  throw new NodeStoreError(
    'STORE_INCOMPLETE',
    storeDir,
    `node store ${storeDir}: a restore into ${dataDir} did not finish (${restoringDir(storeDir)} is left); ` +
      `remove ${dataDir} and run lianxin node restore again`,
  );
}
