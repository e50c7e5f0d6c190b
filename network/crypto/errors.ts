export type CryptoErrorCode = 'BAD_SIGNATURE' | 'BAD_KEY' | 'BAD_CERTIFICATE';

/** A failure in the crypto surface; callers branch on `code`. */
export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
