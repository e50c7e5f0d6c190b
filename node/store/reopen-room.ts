/**
 * Whether the storage guard may close a database and open it again now (its way out of a fault). LevelDB writes at
 * open: it replays its write-ahead logs into tables, writes a new MANIFEST and starts a new log. On a disk without
 * room for those the open fails and the database stays closed, every read refused until space is freed; left open,
 * under the write error LevelDB keeps, it still serves reads. So a reopen waits for that room.
 */
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageFaultError } from './errors.ts';
import { mib } from './storage-guard.ts';

/** What the files' sizes do not count: CURRENT's temporary file, the info LOG, the probe's write, tmpfs pages. */
const REOPEN_SLACK_BYTES = 1024 * 1024;

/**
 * The bytes a reopen of the LevelDB in `dir` may write, at most: its logs again as tables (about their size: the
 * tables hold the logs' rows), a MANIFEST as large as the current one, and the slack.
 */
export async function roomToReopen(dir: string): Promise<number> {
  let bytes = REOPEN_SLACK_BYTES;
  for (const name of await readdir(dir)) {
    if (!/^\d+\.log$/.test(name) && !name.startsWith('MANIFEST-')) continue;
    // A file gone since the listing (a compaction's) needs no room.
    bytes += (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0;
  }
  return bytes;
}

/**
 * @throws StorageFaultError STORAGE_FULL, naming `what`, while the disk under any of `dirs` has less free space than
 * reopening them all needs (they share one disk: the chain index's database lies in the store's directory). Where
 * free space cannot be measured, the reopen is tried.
 */
export async function checkRoomToReopen(what: string, dirs: readonly string[], retryAfterMs: number): Promise<void> {
  let needed = 0;
  let free = Number.POSITIVE_INFINITY;
  try {
    for (const dir of dirs) {
      needed += await roomToReopen(dir);
      const fs = await statfs(dir);
      free = Math.min(free, fs.bavail * fs.bsize);
    }
  } catch {
    return;
  }
  if (free >= needed) return;
  throw new StorageFaultError(
    'STORAGE_FULL',
    `${what} is kept open for reads, and reopened once ${mib(needed)} are free on its disk (to flush its logs and ` +
      'write a new MANIFEST)',
    retryAfterMs,
  );
}
