/**
 * Failures of the embedded ledger, by what went wrong. The gRPC boundary (gateway/grpc-errors.ts) is the one
 * place that turns them into Fabric's status codes and messages.
 */
export type LedgerErrorCode =
  /** The request could not be parsed or misses a field. */
  | 'BAD_REQUEST'
  /** The proposal failed Fabric's checks before the chaincode ran (header, txid, creator, signature, ACL). */
  | 'PROPOSAL_REJECTED'
  /** The chaincode is not defined on the channel. */
  | 'CHAINCODE_NOT_FOUND'
  /** The chaincode ran and returned status >= 400. */
  | 'CHAINCODE_FAILED'
  /** The chaincode could not be reached or its stream broke. */
  | 'CHAINCODE_UNAVAILABLE'
  /** The orderer refused the transaction envelope. */
  | 'ORDERER_REJECTED'
  /** A signed request (commit status, events) failed its signature or ACL check. */
  | 'ACCESS_DENIED'
  | 'CHANNEL_NOT_FOUND'
  | 'TIMEOUT'
  /**
   * At start: the store on disk is damaged or contradicts itself (store/tip-check.ts), or a restore into it did not
   * finish; the ledger refuses it.
   */
  | 'STORE_DAMAGED'
  /** At start: another process holds the store open. */
  | 'STORE_LOCKED'
  /**
   * At start: the options cannot make a channel Fabric's orderer would load (batch settings out of range), or the
   * channel's config leaves the options' peer unable to endorse.
   */
  | 'BAD_OPTIONS'
  /** The ledger is shutting down. */
  | 'CLOSED';

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    options?: ErrorOptions & { readonly chaincodeStatus?: number },
  ) {
    super(message, options);
    this.chaincodeStatus = options?.chaincodeStatus;
  }
  readonly chaincodeStatus: number | undefined;
}
