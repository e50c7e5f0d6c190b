export type BlockFormatErrorCode = 'BAD_BLOCK' | 'BAD_METADATA' | 'BAD_CONFIG';

/** A block or its channel config does not have the Fabric 2.x shape; callers branch on `code`. */
export class BlockFormatError extends Error {
  override readonly name = 'BlockFormatError';
  constructor(
    readonly code: BlockFormatErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
