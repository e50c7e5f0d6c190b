export type BackupErrorCode =
  /** The archive is truncated, damaged, of another format version, or does not match its manifest's digest. */
  | 'ARCHIVE_INVALID'
  /** A file could not be read or written (the message names it). */
  | 'FILE_ERROR'
  /** A backup's destination inside the data dir it backs up. */
  | 'DESTINATION_REFUSED'
  /** Restore was pointed at a data dir that already holds something: it only ever creates a new one. */
  | 'TARGET_NOT_EMPTY'
  /** The archive is another kind of store's (a ledger's given to a node restore, or another node's). */
  | 'WRONG_ARCHIVE';

/** A backup or restore failed; the message is one line naming the file and what is wrong. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    readonly code: BackupErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
