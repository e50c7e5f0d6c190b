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
