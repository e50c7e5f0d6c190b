/** The operator's files, replaced whole (network/fs writeDurably). */
import { realpath, stat, writeFile } from 'node:fs/promises';
import { writeDurably } from './durable-file.ts';

/**
 * Replaces the file at `path` (through a symlink, its target) with `data` by {@link writeDurably}, keeping its mode (a
 * new file: as the umask makes it). A target that is no regular file (`/dev/stdout`, a FIFO) is written in place:
 * there is nothing to replace. For files the operator's commands write (`--out`, the network's run records): a full
 * disk or a crash leaves the previous file whole, and a reader (a verifier polling a bundle) never sees half of one.
 */
export async function replaceFile(path: string, data: string | Uint8Array): Promise<void> {
  const target = await realpath(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw err;
  });
  const existing = await stat(target).catch(() => undefined);
  if (existing !== undefined && !existing.isFile()) return writeFile(target, data);
  await writeDurably(target, (handle) => handle.writeFile(data), {
    replace: true,
    mode: existing === undefined ? 'umask' : existing.mode & 0o7777,
  });
}
