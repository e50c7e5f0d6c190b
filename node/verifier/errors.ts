export type ReceiptsErrorCode = 'MALFORMED_ATTESTATION' | 'INVALID_TRUST_BUNDLE' | 'INVALID_OPTION';

/** A failure to decode an attestation, to read a trust bundle, or a verifier option the caller got wrong; callers branch on `code`. */
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

/** A report-exchange message (request, receipt, acknowledgement) that does not decode or fails a field rule. */
export type ExchangeMessageErrorCode = 'BAD_MESSAGE';

/**
 * Thrown by the core's exchange codec (exchange-codec.ts); node/p2p turns it into its own `P2pError`
 * `BAD_MESSAGE` with the same field and message, so both sides refuse the same bytes the same way.
 */
export class ExchangeMessageError extends Error {
  override readonly name = 'ExchangeMessageError';
  readonly code: ExchangeMessageErrorCode = 'BAD_MESSAGE';
  constructor(
    message: string,
    /** The offending field, as a path (`receipt.records[0].leafHash`). */
    readonly field: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
