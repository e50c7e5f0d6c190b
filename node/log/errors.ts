export type TransparencyLogErrorCode =
  /** A caller's argument is malformed (origin, key, leaf). */
  | 'INVALID_ARGUMENT'
  /** An index or tree size beyond the log's current size, or sizes in the wrong order. */
  | 'OUT_OF_RANGE'
  /** The database holds a log of another origin. */
  | 'ORIGIN_MISMATCH'
  /** The database contradicts itself: a missing leaf or tile, or a stored checkpoint the tree does not match. */
  | 'CORRUPT'
  /** The log was closed. */
  | 'CLOSED';

/** A failure of the transparency log; callers branch on `code`. */
export class TransparencyLogError extends Error {
  override readonly name = 'TransparencyLogError';
  constructor(
    readonly code: TransparencyLogErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
