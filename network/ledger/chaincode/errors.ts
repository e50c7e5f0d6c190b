/** Why an invocation failed. The messages are Fabric's (core/chaincode/handler.go Execute, chaincode_support.go). */
export type ChaincodeErrorCode =
  /** The shim stream dropped or was closed ("chaincode stream terminated"); the gateway maps it to ABORTED. */
  | 'STREAM_TERMINATED'
  /** The execute timeout expired before COMPLETED. */
  | 'TIMEOUT'
  /** The caller's AbortSignal fired. */
  | 'ABORTED'
  /** The chaincode answered ERROR instead of COMPLETED (the shim itself failed). */
  | 'TRANSACTION_FAILED'
  /** Another invocation with the same (channel, txid) is still running on this chaincode. */
  | 'DUPLICATE_TXID'
  /** The invocation's signedProposal or input could not be decoded. */
  | 'INVALID_INVOCATION'
  /** The chaincode never registered on the stream (dial failed, wrong REGISTER, closed connection). */
  | 'NOT_CONNECTED';

export class ChaincodeError extends Error {
  override readonly name = 'ChaincodeError';
  constructor(
    readonly code: ChaincodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A request of the chaincode that the simulator refuses; its message goes back to the shim in an ERROR. */
export type SimulationErrorCode = 'INVALID_KEY' | 'READ_ONLY_VIOLATION' | 'UNSUPPORTED' | 'MALFORMED' | 'NO_CONTEXT';

export class SimulationError extends Error {
  override readonly name = 'SimulationError';
  constructor(
    readonly code: SimulationErrorCode,
    message: string,
  ) {
    super(message);
  }
}
