/** The institution's own credit records, kept off chain with their log evidence. */
export { RecordStore, type RecordMeta, type RecordStoreOptions } from './record-store.ts';
export { RecordStoreError, type RecordStoreErrorCode } from './errors.ts';
