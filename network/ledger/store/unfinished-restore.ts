/**
 * Where a restore writes a LevelDB store until it is whole: `<store>.restoring`, renamed into place once every entry
 * is on the disk (node/backup/restore-target.ts). A store left under that name is a restore cut short; whatever
 * opens a store checks for one first, since a store opened — or created empty — beside it would be taken for the
 * backup's state. Here, beside the ledger's store, because both the node's backup code and the ledger import it.
 */
import { stat } from 'node:fs/promises';

export const RESTORING_SUFFIX = '.restoring';

export const restoringDir = (storeDir: string): string => `${storeDir}${RESTORING_SUFFIX}`;

/** Whether a restore of `storeDir` was started and did not finish. */
export async function restoreLeftUnfinished(storeDir: string): Promise<boolean> {
  try {
    await stat(restoringDir(storeDir));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
