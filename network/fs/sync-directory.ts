import { open } from 'node:fs/promises';

/**
 * A directory's entries (a file created, renamed or deleted in it) on the disk: Linux syncs a directory through a
 * read-only descriptor.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
