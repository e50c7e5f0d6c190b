export type ReceiptsErrorCode = 'MALFORMED_ATTESTATION' | 'INVALID_TRUST_BUNDLE';

/** A failure to decode an attestation or to read a trust bundle; callers branch on `code`. */
export class ReceiptsError extends Error {
  override readonly name = 'ReceiptsError';
  constructor(
    readonly code: ReceiptsErrorCode,
    message: string,
    /** The offending field, as a path (`keys[2].validUntil`), when one is to blame. */
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
