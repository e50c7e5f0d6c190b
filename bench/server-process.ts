/**
 * Servers under test run in their own process, as in a deployment: on 2 cores the server gets one and the load
 * generator the other, instead of both sharing one event loop. The child prints `listening <host:port>` when it
 * accepts calls and exits cleanly on SIGTERM (so `NODE_OPTIONS=--cpu-prof` also profiles it). It runs with the
 * process settings `npm start` gives the ledger and every node (scripts/process-memory.ts; the ledger's node flags
 * through startLedgerProcess), so that a benchmark measures the processes as they are deployed; the machine's
 * limits (the TLS echo server) run with them too, so that a ratio to a limit compares like with like.
 */
import { spawn } from 'node:child_process';

/** `LIANXIN_BENCH_CPU_PROF=<dir>` profiles the servers under test (Node 22 refuses --cpu-prof in NODE_OPTIONS). */
const PROFILE_DIR = process.env.LIANXIN_BENCH_CPU_PROF;
const PROFILE_ARGS = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { LEDGER_NODE_FLAGS, withProcessMemorySettings } from '../scripts/process-memory.ts';
import { BenchError } from './errors.ts';

export interface ServerProcess extends AsyncDisposable {
  readonly address: string;
  readonly pid: number;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

const LEDGER_CHILD_ENTRY = new URL('../test/support/ledger-child.ts', import.meta.url).pathname;

/**
 * Runs `node [nodeFlags] --import tsx <entry> ...args` and resolves once it listens. `nodeFlags`: what Node refuses
 * in NODE_OPTIONS (the launchers' own, scripts/process-memory.ts).
 */
export async function startServerProcess(
  entry: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeFlags, ...PROFILE_ARGS, '--import', 'tsx', entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: withProcessMemorySettings(process.env),
  });
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const address = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const match = /^listening (\S+)$/.exec(line);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      void exited.then(([code]) => {
        reject(new BenchError('CHILD_EXITED', `${entry} exited with ${String(code)} before listening: ${stderr}`));
      });
    });
    if (child.pid === undefined) throw new BenchError('CHILD_EXITED', `${entry} has no pid`);
    return { address, pid: child.pid, stop, [Symbol.asyncDispose]: stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The embedded ledger with the chaincode in-process (test/support/ledger-child.ts, its arguments `args`), run with
 * the flags npm start gives the ledger (LEDGER_NODE_FLAGS).
 */
export function startLedgerProcess(args: readonly string[]): Promise<ServerProcess> {
  return startServerProcess(LEDGER_CHILD_ENTRY, args, LEDGER_NODE_FLAGS);
}
