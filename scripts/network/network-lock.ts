/**
 * One `network up`, `down` or `add-org` at a time per data directory: two `up`s racing would start every process
 * twice (the second ones failing on busy ports) and overwrite each other's run state. `status` only reads and
 * takes no lock.
 *
 * The lock is a sequence of files `network.lock.<n>`: the newest one says who holds it — a holder's pid and start
 * time (judged as a pid file is, process-identity.ts), or released. A command takes the lock by creating the next
 * one, n + 1, whole: written to a temp file first and linked into place, which fails when the name exists, so of
 * two commands judging the same newest file free (released, or its holder gone: killed mid-command) exactly one
 * gets n + 1, and no file is ever seen empty. Nothing is taken over by removing or renaming a lock another command
 * may hold now. The newest file is never removed (the winner removes the older ones), so a command that judged long
 * ago and links a number removed since finds a newer one beside it and backs off. The winner also removes the temp
 * files of commands killed between writing and linking one. A live holder of the single `network.lock` of earlier
 * versions (an old `up` still at work during an upgrade) keeps this version out too.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NetworkError } from './errors.ts';
import { identify, isRunning, processStartTime, type ProcessIdentity } from './process-identity.ts';
import type { RunPaths } from './run-state.ts';

type Holder = ProcessIdentity & { readonly command: string };

/** Between judging the newest lock free and creating the next: a test holds a command here to let another in. */
export interface LockSteps {
  readonly judged?: () => Promise<void>;
}

/** Holds the data directory's lock until disposed. */
export async function acquireLock(paths: RunPaths, command: string, steps: LockSteps = {}): Promise<AsyncDisposable> {
  await mkdir(paths.runDir, { recursive: true });
  const self = await identify(process.pid);
  if (self === undefined) throw new Error('cannot read this process’s own start time');
  for (;;) {
    const newest = await newestLock(paths);
    const holder = await liveHolder(paths, newest.holder);
    if (holder !== undefined) {
      throw new NetworkError(
        'LOCKED',
        `another network ${holder.command} (pid ${String(holder.pid)}) is working on ${paths.dataDir}: wait for it to finish`,
      );
    }
    await steps.judged?.();
    const mine = generationFile(paths, newest.n + 1);
    if (!(await createWhole(mine, { ...self, command }))) continue; // another command took n + 1 first
    const all = await generations(paths);
    if (all.some((g) => g > newest.n + 1)) {
      // n + 1 was taken and removed while this command judged: the lock is the newer one's.
      await rm(mine, { force: true });
      continue;
    }
    await Promise.all(all.filter((g) => g <= newest.n).map((g) => rm(generationFile(paths, g), { force: true })));
    await sweepDeadTemps(paths);
    return {
      [Symbol.asyncDispose]: async () => {
        // Only the holder writes its own file: replaced whole by one saying released.
        const temp = tempFile(mine);
        await writeFile(temp, `${JSON.stringify({ released: true })}\n`);
        await rename(temp, mine);
      },
    };
  }
}

/** The command working on the data directory now (its lock's live holder), if any. */
export async function lockHeldBy(paths: RunPaths): Promise<{ command: string; pid: number } | undefined> {
  const holder = await liveHolder(paths, (await newestLock(paths)).holder);
  return holder === undefined ? undefined : { command: holder.command, pid: holder.pid };
}

/** `newest`'s holder if it runs, else a running holder of the earlier versions' single lock file. */
async function liveHolder(paths: RunPaths, newest: Holder | undefined): Promise<Holder | undefined> {
  if (newest !== undefined && (await isRunning(newest))) return newest;
  let text: string;
  try {
    text = await readFile(paths.lockFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw lockError(paths, err);
  }
  const older = parseHolder(text);
  return older !== undefined && (await isRunning(older)) ? older : undefined;
}

/** The newest lock's number (0: none yet) and its holder (undefined: released, or not a holder's). */
async function newestLock(paths: RunPaths): Promise<{ n: number; holder?: Holder }> {
  for (;;) {
    const n = Math.max(0, ...(await generations(paths)));
    if (n === 0) return { n };
    let text: string;
    try {
      text = await readFile(generationFile(paths, n), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed by a newer holder: look again
      throw lockError(paths, err);
    }
    const holder = parseHolder(text);
    return holder === undefined ? { n } : { n, holder };
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const json = JSON.parse(text) as Partial<Record<'pid' | 'startTime' | 'command', unknown>>;
    if (typeof json.pid !== 'number' || typeof json.startTime !== 'string') return undefined;
    return { pid: json.pid, startTime: json.startTime, command: typeof json.command === 'string' ? json.command : '' };
  } catch {
    return undefined;
  }
}

/** Creates `file` holding `holder`, whole, unless it exists: whether it did. */
async function createWhole(file: string, holder: Holder): Promise<boolean> {
  const temp = tempFile(file);
  await writeFile(temp, `${JSON.stringify(holder)}\n`);
  try {
    await link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * The numbers of the lock files present. One from 2^53 - 1 up is not one (no lock reaches it): past 2^53 it names
 * another file read back, and judging the newest would look for it for ever; the next after 2^53 - 1 would.
 */
async function generations(paths: RunPaths): Promise<number[]> {
  const prefix = `${basename(paths.lockFile)}.`;
  return (await readdir(dirname(paths.lockFile)))
    .filter((name) => name.startsWith(prefix) && /^[1-9]\d*$/.test(name.slice(prefix.length)))
    .map((name) => Number(name.slice(prefix.length)))
    .filter((n) => n < Number.MAX_SAFE_INTEGER);
}

/** Removes the temp files ({@link tempFile}) of commands no longer running. */
async function sweepDeadTemps(paths: RunPaths): Promise<void> {
  const prefix = `.${basename(paths.lockFile)}.`;
  await Promise.all(
    (await readdir(paths.runDir)).map(async (name) => {
      const pid = name.startsWith(prefix)
        ? /^\d+\.(\d+)-[0-9a-f-]+\.tmp$/.exec(name.slice(prefix.length))?.[1]
        : undefined;
      if (pid !== undefined && (await processStartTime(Number(pid))) === undefined) {
        await rm(join(paths.runDir, name), { force: true });
      }
    }),
  );
}

function generationFile(paths: RunPaths, n: number): string {
  return `${paths.lockFile}.${String(n)}`;
}

/** A temp name next to `file`, of this call alone (two commands of one process may claim the same number). */
function tempFile(file: string): string {
  return join(dirname(file), `.${basename(file)}.${String(process.pid)}-${randomUUID()}.tmp`);
}

function lockError(paths: RunPaths, err: unknown): NetworkError {
  return new NetworkError('LOCKED', `cannot read the lock ${paths.lockFile}: ${(err as Error).message}`, {
    cause: err,
  });
}
