/** Test support: network/fs called in a process of its own — as another user, or with its stdout redirected. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ChildOptions {
  /** Run as this user (and group of the same number); the caller must be root. */
  readonly uid?: number;
  /** The child's stdout: an open descriptor, as a shell's `>` or `>>` gives it. */
  readonly stdout?: number;
  /** A module (path) whose exports `call` uses as `m`, beside network/fs's as `fs`. */
  readonly module?: string;
}

/**
 * Awaits `call`, an expression on network/fs's exports as `fs` (`fs.replaceFile('/dev/stdout', 'x')`) and
 * `options.module`'s as `m`, in a new process, then `after` (statements, e.g. writing to stdout).
 * @throws Error with the child's stderr when it exits other than 0.
 */
export async function inChild(call: string, options: ChildOptions = {}, after = ''): Promise<void> {
  // Started as this user and switched to the other once the code is loaded: the other user need not be able to read
  // the repository (a clone in a 0700 temporary folder, as the fresh-clone CI makes).
  const become =
    options.uid === undefined
      ? ''
      : `process.setgroups([${String(options.uid)}]); process.setgid(${String(options.uid)}); ` +
        `process.setuid(${String(options.uid)});`;
  const script = `const fs = await import(${JSON.stringify(join(import.meta.dirname, 'index.ts'))});
    const m = ${options.module === undefined ? 'undefined' : `await import(${JSON.stringify(options.module)})`};
    ${become}
    await ${call};
    ${after}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['ignore', options.stdout ?? 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`the child exited with ${code}: ${stderr}`);
}

/** A sticky folder anyone may create files in, as /tmp is, in `dir` (which is opened to others to reach it). */
export async function stickyFolder(dir: string): Promise<string> {
  await chmod(dir, 0o755);
  const sticky = join(dir, 'tmp');
  await mkdir(sticky);
  await chmod(sticky, 0o1777);
  return sticky;
}

/** `text` in `file` as another user (`uid`) would have left it, with `mode`; the caller must be root. */
export async function othersFile(file: string, text: string, uid: number, mode: number): Promise<void> {
  await writeFile(file, text);
  await chmod(file, mode);
  await chown(file, uid, uid);
}
