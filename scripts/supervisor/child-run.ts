/**
 * One run of a supervised child: a Node process started with tsx's loader, the leader of its own process group
 * (`detached`), so that a signal for it reaches it and everything it started — npm and a terminal signal only their
 * own group, and the supervisor's children are not in it. Its stdout and stderr go to its log file; the supervisor
 * reads them on the way to find the lines it waits for and the child's last words when it fails. A child whose
 * supervisor is gone stops itself (orphan-guard.ts).
 */
import { spawn } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { lastWords, namedWords } from './last-words.ts';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildCommand {
  /** The TypeScript entry point, run by this Node with tsx's loader (no tsx wrapper process in between). */
  readonly script: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Node and V8 flags for the command line, before the loader: those Node refuses in NODE_OPTIONS. */
  readonly nodeFlags?: readonly string[];
}

type LineListener = (line: string, stream: 'stdout' | 'stderr') => void;

const TSX_LOADER = import.meta.resolve('tsx');
const ORPHAN_GUARD = import.meta.resolve('./orphan-guard.ts');
/**
 * Enough of stderr to find the child's own error line under whatever a library printed after it, and V8's fatal
 * error line above its native stack trace (≈ 20–40 frames).
 */
const REMEMBERED_STDERR_LINES = 64;

export class ChildRun {
  readonly pid: number;
  /** Settles once the process has exited and its output has been read to the end. */
  readonly exited: Promise<ExitStatus>;
  #status: ExitStatus | undefined;
  #leaderGone = false;
  readonly #listeners = new Set<LineListener>();
  readonly #stderr: string[] = [];
  #lastStdout: string | undefined;
  #stopping: Promise<ExitStatus> | undefined;

  constructor(command: Readonly<ChildCommand>, log: WriteStream) {
    const loader = ['--import', TSX_LOADER, '--import', ORPHAN_GUARD];
    const child = spawn(process.execPath, [...(command.nodeFlags ?? []), ...loader, command.script, ...command.args], {
      detached: true,
      // stdin: held open and never written; its end tells the child that the supervisor is gone (orphan-guard.ts).
      stdio: ['pipe', 'pipe', 'pipe'],
      env: command.env,
    });
    // Once the log has failed (its 'error' is the supervisor's to report) nothing more is written to it.
    const record = (line: string): void => {
      if (log.writable) log.write(line);
    };
    child.on('error', (err) => {
      // A failed spawn (ENOENT, EACCES) or a failed kill: on the record, never an uncaught exception.
      record(`--- ${new Date().toISOString()} ${err.message}\n`);
    });
    if (child.pid === undefined) {
      // spawn reports ENOENT/EACCES asynchronously; without a pid there is no process to supervise.
      throw new Error(`cannot start ${command.script}: no process was created`);
    }
    this.pid = child.pid;
    record(`--- ${new Date().toISOString()} started pid ${child.pid}: ${command.script} ${command.args.join(' ')}\n`);
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      stream.on('data', (chunk: Buffer) => {
        if (!log.writable || log.write(chunk)) return;
        // A log slower than the child's output holds the child back (its pipe fills) rather than this process's
        // memory; a log that fails meanwhile ('close') lets it go on.
        stream.pause();
        const resume = (): void => {
          log.off('drain', resume).off('close', resume);
          stream.resume();
        };
        log.on('drain', resume).on('close', resume);
      });
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.#remember(line, name);
      });
    }
    child.on('exit', () => {
      this.#leaderGone = true;
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.#leaderGone = true;
        this.#status = { code, signal };
        record(`--- ${new Date().toISOString()} pid ${child.pid} ${describeExit(this.#status)}\n`);
        resolve(this.#status);
      });
    });
  }

  get running(): boolean {
    return !this.#leaderGone;
  }

  get status(): ExitStatus | undefined {
    return this.#status;
  }

  /** Calls `listener` for every line the child writes from now on; returns the unsubscribe function. */
  onLine(listener: LineListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** What `parse` makes of the first stdout line from now on it understands; rejects when `signal` aborts. */
  waitForLine<T>(parse: (line: string) => T | undefined, signal: AbortSignal): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        off();
        signal.removeEventListener('abort', onAbort);
      };
      const off = this.onLine((line, stream) => {
        const parsed = stream === 'stdout' ? parse(line) : undefined;
        if (parsed === undefined) return;
        done();
        resolve(parsed);
      });
      const onAbort = (): void => {
        done();
        reject(signal.reason as Error);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * What the child said about its end: its last line on stderr (the node and the ledger print their one-line
   * start-up failure there), else its last line on stdout.
   */
  lastWords(): string | undefined {
    return this.lastErrorLine() ?? this.#lastStdout;
  }

  /** Its last line on stderr: the error line of an uncaught error rather than its stack frames. */
  lastErrorLine(): string | undefined {
    return lastWords(this.#stderr);
  }

  /** Sends `signal` to the child's whole process group; false when there is no such group any more. */
  signalGroup(signal: NodeJS.Signals): boolean {
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false; // ESRCH: every process of the group is gone
    }
  }

  /**
   * SIGTERM to the group, SIGKILL to it after `graceMs`, then SIGKILL to whatever the leader left in its group;
   * resolves with the leader's exit status. Once: a second call (the supervisor's stop and a start it aborted both
   * stop the run) gets the first's outcome, for a second SIGTERM is a node daemon's "exit without waiting".
   */
  stop(graceMs: number): Promise<ExitStatus> {
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<ExitStatus> {
    if (this.running) this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    try {
      const status = await this.exited;
      this.signalGroup('SIGKILL');
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  #remember(line: string, stream: 'stdout' | 'stderr'): void {
    if (line.trim() !== '') {
      if (stream === 'stderr') {
        this.#stderr.push(line);
        if (this.#stderr.length > REMEMBERED_STDERR_LINES) this.#stderr.shift();
      } else this.#lastStdout = line;
    }
    for (const listener of this.#listeners) listener(line, stream);
  }
}

/** `exited with code 1`, `killed by SIGKILL`. */
export function describeExit(status: ExitStatus): string {
  return status.signal === null ? `exited with code ${String(status.code)}` : `killed by ${status.signal}`;
}

/** The line for a child that ended on its own: why, as it said it, then how it ended and where its log is. */
export function endedLine(name: string, words: string | undefined, status: ExitStatus, logFile: string): string {
  const how = describeExit(status);
  return words === undefined
    ? `${name}: ${how} (log ${logFile})`
    : `${namedWords(name, words)} (${how}; log ${logFile})`;
}
