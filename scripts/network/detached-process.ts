/**
 * A process `network up` starts and leaves running: a Node process with tsx's loader (as npm start's children run),
 * the leader of its own process group (`detached`), so that `down` can signal it and anything it started, and so
 * that a terminal's Ctrl-C for the shell does not reach it. Its stdin is /dev/null and its stdout and stderr go
 * straight to its log file: nothing ties it to `up`, which exits once every process serves. While `up` waits, it
 * reads the log to find the line it waits for and, when the process ends before serving, its last words.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastWords, type ChildCommand, type ExitStatus } from '../supervisor/index.ts';

const TSX_LOADER = import.meta.resolve('tsx');
const POLL_MS = 100;
/** Enough of the log's end to find the process's error line under a stack trace. */
const TAIL_BYTES = 16 * 1024;

export interface DetachedProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the process exits while this (`up`'s) process still runs. */
  readonly exited: Promise<ExitStatus>;
  /** What `parse` makes of the first line this run writes to its log that it understands. */
  waitForLine<T>(parse: (line: string) => T | undefined, signal: AbortSignal): Promise<T>;
  /** Its last line in the log that is not a stack frame: the error line of a process that failed to start. */
  lastWords(): Promise<string | undefined>;
}

/** Starts `command`, appending its output to `logFile` after a line that says so. */
export async function startDetached(command: Readonly<ChildCommand>, logFile: string): Promise<DetachedProcess> {
  await mkdir(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  let pid: number | undefined;
  let exited: Promise<ExitStatus>;
  let from = 0;
  try {
    const child = spawn(
      process.execPath,
      [...(command.nodeFlags ?? []), '--import', TSX_LOADER, command.script, ...command.args],
      {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: command.env,
      },
    );
    exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        resolve({ code, signal });
      });
      // A failed spawn (ENOENT, EACCES): an exit without a process.
      child.once('error', () => {
        resolve({ code: null, signal: null });
      });
    });
    pid = child.pid;
    if (pid === undefined) throw new Error(`cannot start ${command.script}: no process was created`);
    // The child writes to the same file (O_APPEND): this line lands before anything it says.
    writeSync(
      fd,
      `--- ${new Date().toISOString()} started pid ${String(pid)}: ${command.script} ${command.args.join(' ')}\n`,
    );
    child.unref();
    from = fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
  const startedPid = pid;
  return {
    pid: startedPid,
    logFile,
    exited,
    waitForLine: (parse, signal) => waitForLogLine(logFile, from, parse, signal),
    lastWords: async () => {
      return lastWords((await readFrom(logFile, from, TAIL_BYTES)).toString('utf8').split('\n'));
    },
  };
}

async function waitForLogLine<T>(
  logFile: string,
  from: number,
  parse: (line: string) => T | undefined,
  signal: AbortSignal,
): Promise<T> {
  let offset = from;
  for (;;) {
    signal.throwIfAborted();
    const bytes = await readFrom(logFile, offset);
    // Whole lines only: a line still being written (or a character cut in two) is read again next time.
    const end = bytes.lastIndexOf(0x0a) + 1;
    offset += end;
    for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
      const parsed = parse(line);
      if (parsed !== undefined) return parsed;
    }
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}

/** The bytes of `file` from `offset` on (at most its last `tailBytes`, when given, from a line's start). */
async function readFrom(file: string, offset: number, tailBytes = Infinity): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(offset, size - tailBytes);
    if (size <= start) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    const bytes = buffer.subarray(0, bytesRead);
    // A tail cut out of the middle of the file starts inside a line: that piece is no line the process wrote (and,
    // a JSON log line cut short, would pass for the one plain line among them).
    return start > offset ? bytes.subarray(bytes.indexOf(0x0a) + 1) : bytes;
  } finally {
    await handle.close();
  }
}
