/**
 * One `network up` or `down` at a time per data directory: two `up`s racing would start every process twice (the
 * second ones failing on busy ports) and overwrite each other's run state. The lock is a file created exclusively
 * (O_EXCL) holding its holder's pid and start time; a lock whose holder is gone (killed mid-command) is taken over,
 * as a pid file is judged (process-identity.ts). `status` only reads and takes no lock.
 *
 * Taking over a stale lock is a rename of that very file (its inode checked afterwards), never a removal by name:
 * two commands judging the same stale lock at once would otherwise delete each other's fresh one and both hold
 * it. Released, the lock is removed only while it still names this process.
 */
import { link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkError } from './errors.ts';
import { identify, isRunning, type ProcessIdentity } from './process-identity.ts';
import type { RunPaths } from './run-state.ts';

/** Holds the data directory's lock until disposed. */
export async function acquireLock(paths: RunPaths, command: string): Promise<AsyncDisposable> {
  await mkdir(paths.runDir, { recursive: true });
  const self = await identify(process.pid);
  if (self === undefined) throw new Error('cannot read this process’s own start time');
  for (let attempt = 0; ; attempt += 1) {
    try {
      const file = await open(paths.lockFile, 'wx');
      await file.writeFile(`${JSON.stringify({ ...self, command })}\n`);
      await file.close();
      return {
        [Symbol.asyncDispose]: async () => {
          const holder = await lockHolder(paths.lockFile);
          if (holder?.pid === self.pid && holder.startTime === self.startTime)
            await rm(paths.lockFile, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw lockError(paths, err);
    }
    // A holder writes its identity right after creating the file: an empty one may be that instant.
    const judged = await stat(paths.lockFile).catch(() => undefined);
    const holder = (await lockHolder(paths.lockFile)) ?? (await sleep(200).then(() => lockHolder(paths.lockFile)));
    if (holder !== undefined && (await isRunning(holder))) {
      throw new NetworkError(
        'LOCKED',
        `another network ${holder.command} (pid ${String(holder.pid)}) is working on ${paths.dataDir}: wait for it to finish`,
      );
    }
    // Its holder is gone: a stale lock (or one being written this instant, which the second attempt settles).
    if (judged !== undefined) await setAside(paths.lockFile, judged.ino);
  }
}

/**
 * Moves the stale lock file `ino` out of the way. When another command replaced it meanwhile (the rename took a
 * fresh lock), that one is put back unless a third has already made a new one.
 */
async function setAside(lockFile: string, ino: number): Promise<void> {
  const aside = `${lockFile}.${String(process.pid)}.stale`;
  try {
    await rename(lockFile, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // another command set it aside first
    throw err;
  }
  if ((await stat(aside)).ino !== ino) {
    await link(aside, lockFile).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    });
  }
  await rm(aside, { force: true });
}

/** The command working on the data directory now (its lock's live holder), if any. */
export async function lockHeldBy(paths: RunPaths): Promise<{ command: string; pid: number } | undefined> {
  const holder = await lockHolder(paths.lockFile);
  return holder !== undefined && (await isRunning(holder)) ? { command: holder.command, pid: holder.pid } : undefined;
}

async function lockHolder(file: string): Promise<(ProcessIdentity & { command: string }) | undefined> {
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as Partial<Record<'pid' | 'startTime' | 'command', unknown>>;
    if (typeof json.pid !== 'number' || typeof json.startTime !== 'string') return undefined;
    return { pid: json.pid, startTime: json.startTime, command: typeof json.command === 'string' ? json.command : '' };
  } catch {
    return undefined;
  }
}

function lockError(paths: RunPaths, err: unknown): NetworkError {
  if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
    return new NetworkError('LOCKED', `another network command took the lock on ${paths.dataDir} just now`);
  }
  return new NetworkError('LOCKED', `cannot take the lock ${paths.lockFile}: ${(err as Error).message}`, {
    cause: err,
  });
}
