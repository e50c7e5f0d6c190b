/**
 * How a failed call through @hyperledger/fabric-gateway becomes a ChainError (REJECTED, CONFLICT or UNAVAILABLE),
 * read from the Fabric 2.5 gateway's codes and texts (internal/pkg/gateway/apiutils.go, endorse.go, evaluate.go,
 * submit.go).
 */
import { CommitError, GatewayError } from '@hyperledger/fabric-gateway';
import { peer } from '@hyperledger/fabric-protos';
import { ChainError } from './errors.ts';

/**
 * The chaincode answered (apiutils.go responseStatus: a peer's response of status ≥ 400 with a payload): `chaincode
 * response 500, <CODE>: <detail>` from Lianxin's chaincode (chaincode/src/errors.ts), any text from a system chaincode
 * (qscc's `no such transaction ID`, isNoSuchTransaction). The gateway sends it as UNKNOWN on evaluate, in an ABORTED
 * error's details on endorse.
 */
const CHAINCODE_RESPONSE = /chaincode response \d+/;
const CHAINCODE_CODE = /chaincode response \d+, ([A-Z_]+): /;

/**
 * The peer refused the proposal itself or the orderer the transaction (endorser.go preProcess: a bad signature or
 * creator, a duplicate ID, an ACL; submit.go: an orderer's 4xx; grpc-js: a message over the size limit either way,
 * RESOURCE_EXHAUSTED "… larger than max" received or INTERNAL "… size larger than N" to send): asking again gets the
 * same answer. The gateway sends these as FAILED_PRECONDITION (evaluate) or ABORTED (endorse, submit).
 */
const REFUSED =
  /error validating proposal|access denied|duplicate transaction|failed evaluating policy|received unsuccessful response from orderer|private data collection|larger than/;

/**
 * Codes of a gateway that could not get an answer now, the chaincode's or a peer's: CANCELLED, UNKNOWN (a peer's
 * concurrency limit), DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED (a peer's 500 with no payload: the chaincode
 * down, restarting, timed out; too few endorsements), FAILED_PRECONDITION (discovery finds no peers meeting the
 * endorsement policy, none of the gateway's organization), INTERNAL (never sent by Fabric's gateway: grpc-js's own
 * for a stream reset without a status, as a restarting peer or a proxy leaves it; the embedded ledger's for a fault
 * of its own, its store closing), UNAVAILABLE. Any other code, or a refusal (REFUSED), is the gateway's or a peer's
 * verdict on the request.
 */
const UNAVAILABLE_GRPC_CODES = new Set([1, 2, 4, 8, 9, 10, 13, 14]);

/**
 * Invalidations that another endorsement may not meet (validator/txvalidator): what the transaction read changed
 * before it committed (a chaincode upgrade on a 2.x channel among it: the definition is read through the simulator),
 * or the endorsement policy as the channel's config stands at commit (v20 plugindispatcher: an organisation that
 * joined or left between endorsement and commit changes MAJORITY; the next endorsement is planned on the new config).
 * CHAINCODE_VERSION_CONFLICT is the v1.4 validator's, for channels of older capabilities. Any other code
 * (BAD_CREATOR_SIGNATURE, DUPLICATE_TXID, …) says the same of the next endorsement.
 */
const CONFLICT_CODES: ReadonlySet<number> = new Set([
  peer.TxValidationCode.MVCC_READ_CONFLICT,
  peer.TxValidationCode.PHANTOM_READ_CONFLICT,
  peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE,
  peer.TxValidationCode.CHAINCODE_VERSION_CONFLICT,
]);
const VALIDATION_CODE_NAMES = new Map(Object.entries(peer.TxValidationCode).map(([name, code]) => [code, name]));

/** The error of `transaction` committed as `transactionId` but invalidated with `code`. */
export function invalidated(transaction: string, transactionId: string, code: number): CommitError {
  const name = VALIDATION_CODE_NAMES.get(code) ?? 'an unknown code';
  return new CommitError({
    code: code as CommitError['code'],
    transactionId,
    message: `${transaction} ${transactionId} was invalidated: ${name} (${String(code)})`,
  });
}

/** What `err`, thrown by `transaction` (of `transactionId` when known), means for a retry. */
export function toChainError(err: unknown, transaction: string, transactionId: string | undefined): ChainError {
  if (err instanceof ChainError) return err;
  if (err instanceof CommitError) {
    const code = CONFLICT_CODES.has(err.code) ? 'CONFLICT' : 'REJECTED';
    return new ChainError(code, err.message, { cause: err, transactionId: err.transactionId });
  }
  if (err instanceof GatewayError) {
    // The peers' own texts first: an ABORTED or UNKNOWN error's message only introduces them.
    const messages = [...err.details.map((d) => d.message), err.message];
    const answer = messages.find((m) => CHAINCODE_RESPONSE.test(m));
    // EndorseError and SubmitError carry the client's txid.
    const id = 'transactionId' in err && typeof err.transactionId === 'string' ? err.transactionId : transactionId;
    const ids = id ? { transactionId: id } : {};
    if (answer !== undefined) {
      const chaincodeCode = CHAINCODE_CODE.exec(answer)?.[1];
      return new ChainError('REJECTED', `${transaction}: ${answer}`, {
        cause: err,
        ...(chaincodeCode === undefined ? {} : { chaincodeCode }),
        ...ids,
      });
    }
    const refused = messages.find((m) => REFUSED.test(m));
    const code = refused === undefined && UNAVAILABLE_GRPC_CODES.has(err.code) ? 'UNAVAILABLE' : 'REJECTED';
    const why = refused !== undefined && refused !== err.message ? `${err.message}: ${refused}` : err.message;
    return new ChainError(code, `${transaction}: ${why}`, { cause: err, ...ids });
  }
  // Thrown after submitAsync (reading the result, onEndorsed): the transaction may be with the orderer; its ID
  // lets the caller ask the chain whether it committed.
  return new ChainError('UNAVAILABLE', `${transaction}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
    ...(transactionId ? { transactionId } : {}),
  });
}
