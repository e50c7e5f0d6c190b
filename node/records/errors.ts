export type RecordStoreErrorCode =
  /** A stored value this code did not write: the database is damaged or holds another format. */
  'CORRUPT';

/** A failure of the record store itself (refused input is a NodeError); callers branch on `code`. */
export class RecordStoreError extends Error {
  override readonly name = 'RecordStoreError';
  constructor(
    readonly code: RecordStoreErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The rule a credit record broke; `field` on the error says which field. */
export type RecordRule =
  /** The subject is not 18 characters of the GB 32100 alphabet in its layout. */
  | 'USCC_FORMAT'
  /** The subject's 18th character is not the GB 32100 check character (strict mode only). */
  | 'USCC_CHECK_CHARACTER'
  /** The kind is not a record kind (`[a-z][a-z0-9_]{0,31}`, the chaincode's RECORD_KIND). */
  | 'KIND'
  /** The version is not a whole number from 1 to 2^53-1. */
  | 'VERSION'
  /** The content type is not 1 to 127 printable ASCII characters. */
  | 'CONTENT_TYPE'
  /** The content is not bytes, is empty or is larger than the limit. */
  | 'CONTENT_SIZE'
  /** A batch's request ID is not 1 to 128 printable ASCII characters, an attestation request's is over 128 UTF-8 bytes or holds a control character. */
  | 'REQUEST_ID';

/**
 * A credit record that breaks a rule of record-validation.ts. The message is the node's one form,
 * `"records[3].subject" must be …`; `requirement` is the part after the field name, for callers that show the
 * field apart (the CLI's `loans.csv:17: "subject" …`).
 */
export class RecordValidationError extends Error {
  override readonly name = 'RecordValidationError';
  constructor(
    readonly code: RecordRule,
    readonly field: string,
    readonly requirement: string,
  ) {
    super(`"${field}" ${requirement}`);
  }
}
