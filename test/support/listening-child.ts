/**
 * A server in a child process for crash tests: the child prints `listening <host:port>` once it serves, so a test
 * can SIGKILL it mid-stream and start it again on the same data. Spawned with process.execPath (the pinned Node
 * 22) and tsx.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ListeningChild {
  /** host:port the child listens on. */
  readonly address: string;
  /** Its process ID (for /proc/<pid>/fd). */
  readonly pid: number;
  /** What the child wrote to stderr so far. */
  stderr(): string;
  /** SIGKILL: no shutdown code runs, as in a power cut of the process. */
  kill(): Promise<void>;
  /** SIGTERM: the child stops cleanly. */
  stop(): Promise<void>;
}

/** Runs `entry` (a TypeScript file) with `args`; resolves once it prints its address. */
export async function spawnListening(entry: string, args: readonly string[]): Promise<ListeningChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = once(child, 'exit');
  const address = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /^listening (\S+)$/.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
    void exited.then(([code]) => {
      reject(new Error(`${entry} exited with ${String(code)} before listening: ${stderr.join('')}`));
    });
  });
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return {
    address,
    pid: child.pid ?? 0,
    stderr: () => stderr.join(''),
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}
