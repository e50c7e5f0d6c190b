/**
 * Files the operator's commands write (`--out` of a trust bundle, an attestation, a report; the network's run
 * records): written beside the target, synced, then renamed over it. A full disk or a crash leaves the previous
 * file whole, and a reader (a verifier polling the bundle) never sees half of one. A target that is no regular
 * file (`--out /dev/stdout`, a FIFO) is written in place: there is nothing to replace.
 * (network/fs is getting a durable file writer; this one should fold into it.)
 */
import { randomBytes } from 'node:crypto';
import { open, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDirectory } from '../../network/fs/index.ts';
import { CliError, messageOf } from './errors.ts';

/** Replaces `path` (through a symlink, its target) with `data` atomically. */
export async function replaceFile(path: string, data: string | Uint8Array): Promise<void> {
  const target = await realpath(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw err;
  });
  const existing = await stat(target).catch(() => undefined);
  if (existing !== undefined && !existing.isFile()) {
    await writeFile(target, data);
    return;
  }
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', existing === undefined ? 0o666 : existing.mode & 0o7777);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await syncDirectory(dirname(target));
}

/** {@link replaceFile} for a command's `--out`: a failure is `FILE_ERROR` naming the file. */
export async function writeOutFile(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await replaceFile(path, data);
  } catch (err) {
    throw new CliError('FILE_ERROR', `cannot write ${path}: ${messageOf(err)}`, { cause: err });
  }
}
