/**
 * An institution's node run as operators run it: `node --import tsx node/daemon/main.ts --config node.yaml` in
 * its own process, ready once it logs `node serving` (the line a supervisor waits for), with its stdout JSON
 * lines and its stderr kept for assertions.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const DAEMON_MAIN = new URL('../../node/daemon/main.ts', import.meta.url).pathname;

export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface DaemonProcess {
  readonly pid: number;
  /** The JSON log lines so far, parsed. */
  logs(): readonly Record<string, unknown>[];
  /** The same lines as the node wrote them. */
  rawLogs(): readonly string[];
  stderr(): string;
  /** Resolves with the `node serving` line's addresses, or rejects with the exit and stderr if it exits first. */
  readonly serving: Promise<{ readonly grpc: string; readonly operations: string }>;
  readonly exited: Promise<DaemonExit>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<DaemonExit>;
}

/**
 * Starts the daemon on `configFile` (whose `log.level` must let `info` through: `node serving` is an info line);
 * `env` adds LIANXIN_* overrides to this process's environment.
 */
export function startDaemon(configFile: string, env: Readonly<Record<string, string>> = {}): DaemonProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', DAEMON_MAIN, '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  if (child.pid === undefined) throw new Error(`${DAEMON_MAIN} did not start`);
  const logs: Record<string, unknown>[] = [];
  const rawLogs: string[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const serving = new Promise<{ grpc: string; operations: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      rawLogs.push(line);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line, unparsed: true };
      }
      logs.push(entry);
      if (entry.msg === 'node serving') resolve({ grpc: String(entry.grpc), operations: String(entry.operations) });
    });
    void exited.then(({ code, signal }) => {
      reject(new Error(`the node exited (${String(code ?? signal)}) before serving: ${stderr}`));
    });
  });
  // A test that expects the start to fail must not leave an unhandled rejection behind.
  serving.catch(() => undefined);
  return {
    pid: child.pid,
    logs: () => logs,
    rawLogs: () => rawLogs,
    stderr: () => stderr,
    serving,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
