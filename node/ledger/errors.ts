/**
 * How a chain call failed, so callers can decide to retry. Chaincode rejections carry the contract's stable
 * code (`chaincode response 500, <CODE>: <detail>`, chaincode/src/errors.ts).
 */
export type ChainErrorCode =
  /**
   * The chaincode refused the transaction (`chaincodeCode` says why), a peer or orderer refused it, or the validator
   * invalidated it for a reason another endorsement would meet too (its message names the code). Not retryable as such.
   */
  | 'REJECTED'
  /**
   * Committed, but invalidated by what another transaction, a chaincode upgrade or a membership change did in
   * between (MVCC_READ_CONFLICT, PHANTOM_READ_CONFLICT, ENDORSEMENT_POLICY_FAILURE, CHAINCODE_VERSION_CONFLICT): the
   * same call may succeed if endorsed again. Any other invalidation code is REJECTED.
   */
  | 'CONFLICT'
  /** The ledger could not be reached or did not answer in time: retry later. */
  | 'UNAVAILABLE';

export class ChainError extends Error {
  override readonly name = 'ChainError';
  constructor(
    readonly code: ChainErrorCode,
    message: string,
    options?: ErrorOptions & { readonly chaincodeCode?: string; readonly transactionId?: string },
  ) {
    super(message, options);
    this.chaincodeCode = options?.chaincodeCode;
    this.transactionId = options?.transactionId;
  }
  readonly chaincodeCode: string | undefined;
  readonly transactionId: string | undefined;

  get retryable(): boolean {
    return this.code !== 'REJECTED';
  }
}

/**
 * Whether `err` is the chain's answer that it holds no transaction of the ID asked (`LianxinChain.blockNumberOf`):
 * Fabric's qscc says so in its message alone (`no such transaction ID [<id>] in index`; the embedded ledger's is
 * the same), and any other refusal or an unavailable chain says nothing of the transaction.
 */
export function isNoSuchTransaction(err: unknown): boolean {
  return err instanceof ChainError && !err.retryable && NO_SUCH_TRANSACTION.test(err.message);
}
const NO_SUCH_TRANSACTION = /no such transaction ID/;

/**
 * The first block a Fabric peer bootstrapped from a ledger snapshot holds transaction details of, read from its
 * refusal to look up an earlier transaction (blkstorage's `details for the TXID [<id>] not available. Ledger
 * bootstrapped from a snapshot. First available block = [<n>]`, in qscc GetBlockByTxID's answer), or undefined for
 * any other error. Such a transaction is on the chain the snapshot was taken of: the peer only keeps no index of it.
 * The gateway's CommitStatus does not pass this on: it waits out its deadline (a second, blockNumberOf) as for a
 * transaction the chain does not hold, so each such question costs that second first.
 */
export function firstAvailableBlock(err: unknown): bigint | undefined {
  const found = err instanceof ChainError ? BOOTSTRAPPED_FROM_SNAPSHOT.exec(err.message) : null;
  return found?.[1] === undefined ? undefined : BigInt(found[1]);
}
const BOOTSTRAPPED_FROM_SNAPSHOT = /Ledger bootstrapped from a snapshot\. First available block = \[(\d+)\]/;
