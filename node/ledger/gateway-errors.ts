/**
 * How a failed call through @hyperledger/fabric-gateway becomes a ChainError (REJECTED, CONFLICT or UNAVAILABLE),
 * read from the Fabric 2.5 gateway's codes and texts (internal/pkg/gateway/apiutils.go, endorse.go, evaluate.go,
 * submit.go).
 */
import { CommitError, GatewayError } from '@hyperledger/fabric-gateway';
import { ChainError } from './errors.ts';

/** `chaincode response 500, CODE: detail` → CODE (chaincode/src/errors.ts). */
const CHAINCODE_MESSAGE = /chaincode response \d+, ([A-Z_]+): /;

const UNAVAILABLE_GRPC_CODES = new Set([1 /* CANCELLED */, 4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

/** What `err`, thrown by `transaction` (of `transactionId` when known), means for a retry. */
export function toChainError(err: unknown, transaction: string, transactionId: string | undefined): ChainError {
  if (err instanceof ChainError) return err;
  if (err instanceof CommitError) {
    return new ChainError('CONFLICT', err.message, { cause: err, transactionId: err.transactionId });
  }
  if (err instanceof GatewayError) {
    const detail = err.details.map((d) => d.message).find((m) => CHAINCODE_MESSAGE.test(m)) ?? err.message;
    const chaincodeCode = CHAINCODE_MESSAGE.exec(detail)?.[1];
    // EndorseError and SubmitError carry the client's txid.
    const id = 'transactionId' in err && typeof err.transactionId === 'string' ? err.transactionId : transactionId;
    if (chaincodeCode !== undefined) {
      return new ChainError('REJECTED', `${transaction}: ${detail}`, {
        cause: err,
        chaincodeCode,
        ...(id ? { transactionId: id } : {}),
      });
    }
    const code = UNAVAILABLE_GRPC_CODES.has(err.code) ? 'UNAVAILABLE' : 'REJECTED';
    return new ChainError(code, `${transaction}: ${err.message}`, { cause: err, ...(id ? { transactionId: id } : {}) });
  }
  return new ChainError('UNAVAILABLE', `${transaction}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}
