/**
 * The embedded ledger in a child process (ledger-child.ts), so that a test can `kill -9` it mid-stream and start
 * it again on the same data dir.
 */
import { spawnListening, type ListeningChild } from './listening-child.ts';
import type { TestConsortium } from './test-consortium.ts';

const CHILD_ENTRY = new URL('./ledger-child.ts', import.meta.url).pathname;

export type LedgerProcess = ListeningChild;

/** Starts the consortium's ledger in a child process whose LevelDB lives under `dataDir`; resolves once it listens. */
export function startLedgerProcess(members: TestConsortium, dataDir: string): Promise<LedgerProcess> {
  return spawnListening(CHILD_ENTRY, [members.cryptoDir, dataDir]);
}
