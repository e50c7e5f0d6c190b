export {
  asPromise,
  openNodeDatabase,
  type NodeDatabase,
  type NodeSublevel,
  type SublevelWrite,
} from './node-database.ts';
export { NodeStoreError, type NodeStoreErrorCode } from './errors.ts';
export { restoreStoreEntries } from './restore-entries.ts';
