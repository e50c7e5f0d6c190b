export {
  asPromise,
  openNodeDatabase,
  storedKey,
  type NodeDatabase,
  type LevelDbTuning,
  type NodeDatabaseOptions,
  type NodeSublevel,
  type RowPut,
  type SublevelRows,
  type SublevelWrite,
} from './node-database.ts';
export { NodeStoreError, StorageFaultError, type NodeStoreErrorCode, type StorageFaultCode } from './errors.ts';
export {
  classifyStorageFault,
  isStoreNotOpenError,
  isTransientStoreError,
  StorageGuard,
  type StorageFault,
  type StorageGuardOptions,
} from './storage-guard.ts';
export { restoreStoreEntries, type EntryPlacement } from './restore-entries.ts';
export { nodeEntryPlacement } from './chain-index-layout.ts';
export { RowBatch, type IndexedRows } from './row-batch.ts';
export { KeyFilter, KEY_FILTER_MIN_KEYS, hashKeyInto } from './key-filter.ts';
export { scanKeys } from './key-scan.ts';
