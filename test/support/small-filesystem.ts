/**
 * A small file system for storage-fault tests: a tmpfs of `bytes` mounted on a fresh temporary directory, so that
 * a store on it really runs out of space (ENOSPC from the kernel, LevelDB's sticky background error and all).
 * Mounting needs root (or CAP_SYS_ADMIN); where it is refused, `mountSmallFilesystem` resolves to undefined and
 * the test falls back to an injected ENOSPC at the LevelDB layer, saying which one ran. TEST_STORAGE_NO_MOUNT=1
 * takes the fallback as root too (to run what CI without root runs).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallFilesystem extends AsyncDisposable {
  readonly dir: string;
  /** Takes the free space but `leaveBytes` (roughly: tmpfs counts pages) with a filler file. */
  fill(leaveBytes: number): Promise<void>;
  /** Takes all the free space left, with a second filler beside the first. */
  fillAll(): Promise<void>;
  /** Removes the fillers. */
  free(): Promise<void>;
}

export async function mountSmallFilesystem(bytes: number): Promise<SmallFilesystem | undefined> {
  if (process.env.TEST_STORAGE_NO_MOUNT === '1') return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'lianxin-small-fs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  const filler = join(dir, 'filler');
  const rest = join(dir, 'filler-rest');
  const unmount = async () => {
    await run('umount', ['-l', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  return {
    dir,
    async fill(leaveBytes) {
      const { stdout } = await run('df', ['-B1', '--output=avail', dir]);
      const avail = Number(stdout.trim().split('\n').at(-1));
      await writeFile(filler, Buffer.alloc(Math.max(0, avail - leaveBytes)));
    },
    async fillAll() {
      const { bavail, bsize } = await statfs(dir);
      // The kernel counts pages: the last one may not fit, and what was written stays.
      await writeFile(rest, Buffer.alloc(bavail * bsize)).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      });
    },
    async free() {
      await rm(filler, { force: true });
      await rm(rest, { force: true });
    },
    [Symbol.asyncDispose]: unmount,
  };
}
