/**
 * The embedded ledger in a child process (ledger-child.ts), so that a test can `kill -9` it mid-stream and start
 * it again on the same data dir.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { TestConsortium } from './test-consortium.ts';

const CHILD_ENTRY = new URL('./ledger-child.ts', import.meta.url).pathname;

export interface LedgerProcess {
  /** host:port the child's gateway listens on. */
  readonly address: string;
  /** SIGKILL: no shutdown code runs, as in a power cut of the process. */
  kill(): Promise<void>;
  /** SIGTERM: the ledger stops cleanly. */
  stop(): Promise<void>;
}

/** Starts the consortium's ledger in a child process whose LevelDB lives under `dataDir`; resolves once it listens. */
export async function startLedgerProcess(members: TestConsortium, dataDir: string): Promise<LedgerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_ENTRY, members.cryptoDir, dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
      reject(new Error(`the ledger process exited with ${String(code)} before listening: ${stderr.join('')}`));
    });
  });
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return { address, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
