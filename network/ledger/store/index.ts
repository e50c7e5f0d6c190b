/** The ledger's on-disk block store, txid index and versioned world state (LevelDB). */
export {
  openLedgerStore,
  LEDGER_SUBLEVELS,
  type BlockTxIds,
  type LedgerStore,
  type OpenLedgerStoreOptions,
  type NamespacedStateEntry,
} from './level-ledger-store.ts';
export { computeCommitHash, updateBatchBytes } from './commit-hash.ts';
export { sortUpdates, stateKey, type StateUpdate } from './state-update.ts';
export { isStorageFault, LedgerStoreError, levelFailure, type LedgerStoreErrorCode } from './errors.ts';
export { TIP_BLOCKS } from './tip-check.ts';
export { restoreLeftUnfinished, restoringDir, RESTORING_SUFFIX } from './unfinished-restore.ts';
