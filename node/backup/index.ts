/** Online backup and restore of a node's store (DESIGN §8): one archive file with a manifest and a digest. */
export {
  ARCHIVE_VERSION,
  parseManifest,
  readBackupEntries,
  verifyBackupArchive,
  writeBackupArchive,
  type BackupManifest,
  type ManifestFacts,
} from './backup-archive.ts';
export { backupNode, requireEmptyDir, restoreNode, type NodeIdentity, type RestoreNodeOptions } from './node-backup.ts';
export { BackupError, type BackupErrorCode } from './errors.ts';
export { backupLedger, restoreLedger } from './ledger-backup.ts';
export { refuseUnfinishedRestore } from './restore-target.ts';
