/** A test network's ledger backed up and restored as an operator does (README "Backup and restore"). */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { backupLedger } from '../../node/backup/index.ts';
import { lianxin } from '../../node/cli/test-io.ts';
import type { TestNetwork } from './test-node.ts';

/** Backs the running ledger up to `name` in the network's directory; the backup's path. */
export async function backupTestLedger(net: TestNetwork, name: string): Promise<string> {
  const backup = join(net.members.dir, name);
  await backupLedger(net.ledger.store, net.members.consortium.channel, backup, join(net.members.dir, 'ledger'));
  return backup;
}

/**
 * Stops the ledger, puts the store `lianxin ledger restore` made from `backup` in place of its own (as an operator
 * restores into a fresh data dir and starts the ledger on it), and starts it again on the same port.
 */
export async function restoreTestLedger(net: TestNetwork, backup: string): Promise<void> {
  const root = join(net.members.dir, `ledger-restored-${String(Date.now())}`);
  await net.restartLedger(async () => {
    expect(await lianxin(['ledger', 'restore', '--from', backup, '--data-dir', root])).toMatchObject({ code: 0 });
    const store = join(net.members.dir, 'ledger', 'ledger');
    await rm(store, { recursive: true, force: true });
    await rename(join(root, 'ledger', 'ledger'), store);
  });
}
