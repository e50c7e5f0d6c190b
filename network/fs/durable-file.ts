/**
 * The one way a file that must never be left half-written is written: the node's key files, the MSP material, the
 * backup archives (each keeps its own semantics as options: mode, replacing or not, owner).
 */
import { link, open, readdir, readFile, realpath, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { syncDirectory } from './sync-directory.ts';

export interface DurableWriteOptions {
  /**
   * The file's mode bits, whatever the umask; default 0600. `'umask'`: as a plain open(2) with 0666 would make it,
   * for files others are meant to read (a trust bundle, an attestation).
   */
  readonly mode?: number | 'umask';
  /**
   * Replace a file at the path (rename(2): a reader sees the old file or the new). By default a file there is never
   * replaced, not even one that appeared meanwhile: link(2) refuses (EEXIST), which a file system without hard links
   * cannot do, so there it fails (unless `inPlaceWithoutHardLinks`).
   */
  readonly replace?: boolean;
  /** Given to the file before anything is in it (run as root: a file for the user who will read it). */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /**
   * Where link(2) cannot be done (a file system without hard links: vfat, some FUSE, SMB without unix extensions), the
   * bytes go into a file opened at the path itself, never replacing one, and synced — what a plain open(2) with
   * O_EXCL gives: a crash may leave a torn file there, so only for a small file whose reader refuses a torn one.
   */
  readonly inPlaceWithoutHardLinks?: boolean;
}

/** After the file's name: writeDurably's temporary files, and the MSP generator's before it (until 2026-12-07). */
const TEMP_SUFFIX = /^\.partial-(\d+)$/;
const FORMER_TEMP_SUFFIX = /^\.(\d+)\.tmp$/;

/**
 * Whether a directory entry is a temporary file a crash may have left — writeDurably's (`<name>.partial-<pid>`) or the
 * MSP generator's before it (`<name>.<pid>.tmp`) — which a reader skips.
 */
export const isPartialFile = (name: string): boolean => /\.(?:partial-\d+|\d+\.tmp)$/.test(name);

/**
 * The paths this process is writing (absolute, their folder's symlinks resolved: one file however it is spelled), each
 * to the write that ends last: a second write to a path waits for the first (both named their temporary file after
 * this pid), and a `.partial-<own pid>` beside a path not in here is a former process's with the same pid (in a
 * container the node is pid 1 at every start).
 */
const writing = new Map<string, Promise<void>>();
/** The last write to join a queue: each joins after the one called before it, its real path looked up meanwhile. */
let joining: Promise<unknown> = Promise.resolve();

/**
 * Writes a file whole under a temporary name beside `path` (`write` fills it), syncs it, then puts it in place and
 * syncs the directory: a crash or a power loss leaves the old file (or none) or the new one whole, never half of one,
 * and a file reported written survives a power loss. A write that fails leaves no new file. Writes to one file in
 * this process go one after another, in the order called. A temporary file that a process which died writing to
 * `path` left is removed first (a live one's is its own to finish). In a folder this user may not read (a drop
 * folder, 0733) neither the sweep nor the directory sync can be done: the file is written, its bytes synced, its
 * entry not.
 * @returns what `write` returns.
 * @throws the system error of the step that failed (`syscall` names it: `link` with `EEXIST` for a file at `path`).
 */
export function writeDurably<T>(
  path: string,
  write: (handle: FileHandle) => Promise<T>,
  options: DurableWriteOptions = {},
): Promise<T> {
  const joined = joining.then(async () => {
    const key = await fileKey(path);
    const written = (writing.get(key) ?? Promise.resolve()).then(() => writeAlone(path, write, options));
    const settled = written.then(
      () => undefined,
      () => undefined,
    );
    writing.set(key, settled);
    void settled.then(() => {
      if (writing.get(key) === settled) writing.delete(key);
    });
    // In an object: the next write joins once this one is queued, not once it is written.
    return { written };
  });
  joining = joined.then(
    () => undefined,
    () => undefined,
  );
  return joined.then(({ written }) => written);
}

/** `path` absolute, its folder's symlinks resolved (a folder that does not exist as spelled: the write will say). */
async function fileKey(path: string): Promise<string> {
  const absolute = resolve(path);
  const folder = await realpath(dirname(absolute)).catch(() => dirname(absolute));
  return join(folder, basename(absolute));
}

/** {@link writeDurably}, no other write to `path` in this process under way. */
async function writeAlone<T>(
  path: string,
  write: (handle: FileHandle) => Promise<T>,
  { mode = 0o600, replace = false, owner, inPlaceWithoutHardLinks = false }: DurableWriteOptions,
): Promise<T> {
  await sweep(path, false);
  const temp = `${path}.partial-${process.pid}`;
  // Outside the try: a temporary file this call did not create is not its own to remove.
  const handle = await create(temp, mode, owner);
  let result: T;
  try {
    try {
      result = await write(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (replace) await rename(temp, path);
    else await linkInPlace(temp, path, mode, owner, inPlaceWithoutHardLinks);
  } finally {
    // Linked, the temporary name goes; renamed, it is gone already.
    await rm(temp, { force: true });
  }
  try {
    await syncDirectory(dirname(path));
  } catch (err) {
    // A folder this user may write in but not read (a drop folder, 0733) cannot be opened to sync: the file stands,
    // its bytes synced, as a plain write there would.
    if ((err as NodeJS.ErrnoException).code === 'EACCES') return result;
    // A replaced file cannot come back; a new one goes, not known to be on the disk.
    if (!replace) await rm(path, { force: true });
    throw err;
  }
  return result;
}

/** link(2) on vfat, some FUSE file systems, SMB without unix extensions (Azure Files). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP']);

/** A new file (never one that exists) with `mode` whatever the umask, and `owner`'s before anything is in it. */
async function create(file: string, mode: number | 'umask', owner: DurableWriteOptions['owner']): Promise<FileHandle> {
  const handle = await open(file, 'wx', mode === 'umask' ? 0o666 : mode);
  try {
    if (owner !== undefined) await handle.chown(owner.uid, owner.gid);
    // The umask may have taken bits away.
    if (mode !== 'umask') await handle.chmod(mode);
  } catch (err) {
    await handle.close();
    await rm(file, { force: true });
    throw err;
  }
  return handle;
}

/**
 * Links `temp` (written, synced) at `path`; on a file system without hard links, when `inPlace`, writes its bytes into
 * a new file at `path` itself, synced (a write that fails removes the file it created).
 */
async function linkInPlace(
  temp: string,
  path: string,
  mode: number | 'umask',
  owner: DurableWriteOptions['owner'],
  inPlace: boolean,
): Promise<void> {
  try {
    await link(temp, path);
    return;
  } catch (err) {
    if (!inPlace || !NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  const bytes = await readFile(temp);
  const handle = await create(path, mode, owner);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(path, { force: true });
    throw err;
  }
  await handle.close();
}

/**
 * Removes the temporary files of writes to `path` that a process which died left (a live one's is its own; this
 * process's own, only while it writes to `path`); `formerNames`: the MSP generator's `<file>.<pid>.tmp` too. Another
 * user's in a sticky folder (/tmp), which this user cannot remove, stays: it is in no one's way, as every process names
 * its own.
 */
export const removeAbandoned = async (path: string, { formerNames = false } = {}): Promise<void> =>
  sweep(path, writing.has(await fileKey(path)), formerNames);

async function sweep(path: string, ownIsLive: boolean, formerNames = false): Promise<void> {
  const base = basename(path);
  let entries: string[];
  try {
    entries = await readdir(dirname(path));
  } catch (err) {
    // A folder this user may not read (a drop folder): none of its entries is known, none is swept.
    if ((err as NodeJS.ErrnoException).code === 'EACCES') return;
    throw err;
  }
  for (const entry of entries) {
    const suffix = entry.startsWith(base) ? entry.slice(base.length) : '';
    const match = TEMP_SUFFIX.exec(suffix) ?? (formerNames ? FORMER_TEMP_SUFFIX.exec(suffix) : null);
    const pid = match === null ? 0 : Number(match[1]);
    const live = pid === process.pid ? ownIsLive : isAlive(pid);
    if (pid > 0 && !live) await unlink(join(dirname(path), entry)).catch(unlessDenied);
  }
}

/** Undefined for a removal refused (or a file gone meanwhile), else the error thrown again. */
function unlessDenied(err: unknown): undefined {
  const { code } = err as NodeJS.ErrnoException;
  if (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT') return undefined;
  throw err;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, another user's.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
