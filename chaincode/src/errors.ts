/**
 * Every rejection the contract makes. fabric-contract-api turns a thrown error into `shim.error(message)`
 * (status 500) and the gateway reports "chaincode response 500, <message>" (fabric-gateway-protocol.md §16), so the
 * code leads the message: clients branch on the text before the first ':'.
 */
export type ChaincodeErrorCode =
  | 'INVALID_ARGUMENT'
  | 'FORBIDDEN'
  | 'BOOTSTRAP_REQUIRED'
  | 'ORG_EXISTS'
  | 'ORG_NOT_FOUND'
  | 'ORG_SUSPENDED'
  | 'NODE_EXISTS'
  | 'NODE_NOT_FOUND'
  | 'ORIGIN_TAKEN'
  | 'ORIGIN_NOT_FOUND'
  | 'KEY_EXISTS'
  | 'KEY_NOT_FOUND'
  | 'KEY_NOT_ACTIVE'
  | 'INVALID_USCC'
  | 'CHECKPOINT_MALFORMED'
  | 'CHECKPOINT_UNKNOWN_ORIGIN'
  | 'CHECKPOINT_FOREIGN_ORIGIN'
  | 'CHECKPOINT_BAD_SIGNATURE'
  | 'CHECKPOINT_SHRINK'
  | 'CHECKPOINT_STALE'
  | 'CHECKPOINT_FORK'
  | 'CHECKPOINT_NOT_FOUND'
  | 'INDEX_LEAF_OUT_OF_RANGE'
  | 'INDEX_NOT_FOUND'
  | 'INDEX_IN_EVENT'
  | 'EVIDENCE_CONFLICT'
  | 'EVIDENCE_NOT_FOUND'
  | 'CONSENT_EXISTS'
  | 'CONSENT_NOT_FOUND'
  | 'CONSENT_REVOKED'
  | 'RECEIPT_CONFLICT'
  | 'RECEIPT_NOT_FOUND'
  | 'RECEIPT_CONSENT_MISMATCH';

export class ChaincodeError extends Error {
  override readonly name = 'ChaincodeError';
  readonly code: ChaincodeErrorCode;
  readonly detail: string;

  constructor(code: ChaincodeErrorCode, detail: string) {
    super(`${code}: ${detail}`);
    this.code = code;
    this.detail = detail;
  }
}

export function fail(code: ChaincodeErrorCode, detail: string): never {
  throw new ChaincodeError(code, detail);
}

export function invalid(field: string, requirement: string): never {
  throw new ChaincodeError('INVALID_ARGUMENT', `"${field}" ${requirement}`);
}
