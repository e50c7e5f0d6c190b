/** The operator's files, replaced whole (network/fs writeDurably). */
import { writeFile as writeToDescriptor } from 'node:fs';
import { readlink, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { writeDurably } from './durable-file.ts';

/**
 * Replaces the file at `path` (through a symlink, its target) with `data` by {@link writeDurably}, keeping its mode (a
 * new file: as the umask makes it). For files the operator's commands write (`--out`, the network's run records): a
 * full disk or a crash leaves the previous file whole, and a reader (a verifier polling a bundle) never sees half of
 * one. Written in place, as a shell's `>` would:
 * - a descriptor (`/dev/stdout`, `/dev/fd/N`, `/proc/<pid>/fd/N`, or a symlink to one): what it leads to is the
 *   shell's redirection, `>> audit.log` to be appended to, not a file to replace — a file behind this process's own
 *   descriptor is written through it (after what it wrote before, before what it writes after), anything else opened
 *   to append;
 * - a target that is no regular file (a FIFO, `/dev/null`): there is nothing to replace;
 * - a file this user may write but not replace (another user's in a sticky folder such as /tmp, or in a folder it
 *   may not write): it stays its owner's, but a crash may leave it half-written.
 */
export async function replaceFile(path: string, data: string | Uint8Array): Promise<void> {
  const descriptor = await descriptorOf(path);
  if (descriptor !== undefined) {
    // A file behind this process's own descriptor is written at the descriptor's offset. A pipe or a terminal is
    // opened anew, as before: its own descriptor may be non-blocking (libuv makes stdout's so), a write then EAGAIN.
    const own = descriptor.pid === process.pid && (await stat(path)).isFile();
    return own ? promisify(writeToDescriptor)(descriptor.fd, data) : writeFile(path, data, { flag: 'a' });
  }
  const target = await realpath(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw err;
  });
  const existing = await stat(target).catch(() => undefined);
  if (existing !== undefined && !existing.isFile()) return writeFile(target, data);
  try {
    await writeDurably(target, (handle) => handle.writeFile(data), {
      replace: true,
      mode: existing === undefined ? 'umask' : existing.mode & 0o7777,
    });
  } catch (err) {
    const { code, syscall } = err as NodeJS.ErrnoException;
    const notOursToReplace = (code === 'EPERM' || code === 'EACCES') && (syscall === 'rename' || syscall === 'open');
    if (existing === undefined || !notOursToReplace) throw err;
    await writeFile(target, data);
  }
}

/** `/proc/<pid>/fd/<fd>` once the folders on the way are resolved (`/dev/fd` and `/proc/self` are symlinks). */
const PROC_FD = /^\/proc\/(\d+)(?:\/task\/\d+)?\/fd\/(\d+)$/;
const STANDARD: ReadonlyMap<string, number> = new Map([
  ['/dev/stdin', 0],
  ['/dev/stdout', 1],
  ['/dev/stderr', 2],
]);
/** Linux's limit on symlinks followed in one lookup. */
const MAX_LINKS = 40;

/**
 * The process and descriptor that `path`, or a symlink on the way to its file, names; undefined for a path that
 * leads to a file by name alone. Read before realpath(3), which goes through a descriptor to the file behind it.
 */
async function descriptorOf(path: string): Promise<{ pid: number; fd: number } | undefined> {
  let current = resolve(path);
  for (let links = 0; links <= MAX_LINKS; links++) {
    const folder = await realpath(dirname(current)).catch(() => undefined);
    if (folder === undefined) return undefined;
    const at = join(folder, basename(current));
    const standard = STANDARD.get(at);
    if (standard !== undefined) return { pid: process.pid, fd: standard };
    const proc = PROC_FD.exec(at);
    if (proc !== null) return { pid: Number(proc[1]), fd: Number(proc[2]) };
    const target = await readlink(at).catch(() => undefined);
    if (target === undefined) return undefined;
    current = resolve(folder, target);
  }
  return undefined;
}
