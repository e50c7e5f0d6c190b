/**
 * Online backup and restore of the embedded ledger's store (network/ledger). A block commits with its txid index
 * entries, state updates and savepoint in one LevelDB batch, so one snapshot holds the ledger at one height: the
 * restored store passes verify-chain and the ledger starts on it at that height. Blocks committed after the backup
 * are not in it; the nodes' anchors in them are then missing from the chain, and a node that holds later anchors
 * than the restored chain has its next anchors refused (their proofs start past the chain's head: it does not yet
 * roll its anchored state back to the chain's) — restore the ledger from a backup taken after the nodes' last
 * anchors, or treat it as a fresh channel.
 */
import { join } from 'node:path';
import type { LedgerStore } from '../../network/ledger/store/index.ts';
import { readBackupEntries, verifyBackupArchive, writeBackupArchive, type BackupManifest } from './backup-archive.ts';
import { BackupError } from './errors.ts';
import { refuseInside, requireEmptyDir } from './node-backup.ts';
import { restoreStoreAtomically } from './restore-target.ts';

/** Writes a consistent snapshot of the running ledger's store to `out` (never replacing a file). */
export async function backupLedger(
  store: Pick<LedgerStore, 'snapshotEntries' | 'height'>,
  channelId: string,
  out: string,
  dataDir: string,
): Promise<BackupManifest> {
  await refuseInside(out, dataDir, 'ledger');
  // The height as the snapshot is taken is not known exactly (a block may commit meanwhile): the manifest names
  // the channel only; verify-chain on the restored store tells its height.
  return writeBackupArchive(out, { kind: 'ledger', identity: { channel: channelId } }, () => store.snapshotEntries());
}

/**
 * Restores a ledger store into `<dataDir>/ledger/ledger`, where `npm run ledger -- --data-dir <dataDir>` and
 * verify-chain look for it; `<dataDir>/ledger` must be absent or empty. The crypto material (`<dataDir>/crypto`)
 * is not in the backup.
 */
export async function restoreLedger(options: {
  readonly from: string;
  readonly dataDir: string;
}): Promise<BackupManifest> {
  const ledgerDir = join(options.dataDir, 'ledger');
  await requireEmptyDir(ledgerDir);
  const manifest = await verifyBackupArchive(options.from);
  if (manifest.kind !== 'ledger') {
    throw new BackupError('WRONG_ARCHIVE', `${options.from} is a backup of a ${manifest.kind}, not of a ledger`);
  }
  await restoreStoreAtomically(join(ledgerDir, 'ledger'), readBackupEntries(options.from));
  return manifest;
}
