/** The institution's own credit records, kept off chain with their log evidence. */
export { RecordStore, type RecordMeta, type RecordStoreOptions } from './record-store.ts';
export { RecordStoreError, RecordValidationError, type RecordRule, type RecordStoreErrorCode } from './errors.ts';
export {
  DEFAULT_RECORD_RULES,
  requireContentSize,
  validateCreditRecord,
  validateRecordRef,
  validateEchoedRequestId,
  validateRequestId,
  type CreditRecordInput,
  type RecordRules,
  type ValidateOptions,
  type ValidCreditRecord,
} from './record-validation.ts';
export { DEFAULT_MAX_RECORD_BYTES, MAX_CONFIGURABLE_RECORD_BYTES, MAX_CONTENT_TYPE_CHARS } from './constants.ts';
export {
  locateCreditLeafIndexFields,
  readCreditLeafIndexFields,
  type CreditLeafIndexFields,
  type CreditLeafIndexOffsets,
} from './credit-leaf.ts';
