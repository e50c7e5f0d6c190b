export type LedgerStoreErrorCode =
  /** The block does not extend the chain: wrong number or previous hash. */
  | 'NOT_NEXT_BLOCK'
  /** The block lacks its TRANSACTIONS_FILTER or it does not match the transactions. */
  | 'BAD_BLOCK'
  /** What is on disk contradicts the savepoint. */
  | 'CORRUPT'
  | 'CLOSED';

/** A failure of the ledger's block and state store; callers branch on `code`. */
export class LedgerStoreError extends Error {
  override readonly name = 'LedgerStoreError';
  constructor(
    readonly code: LedgerStoreErrorCode,
    message: string,
    options?: ErrorOptions & { readonly blockNum?: number },
  ) {
    super(message, options);
    this.blockNum = options?.blockNum;
  }
  /** The block the failure concerns, when there is one. */
  readonly blockNum: number | undefined;
}
