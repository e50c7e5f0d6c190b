import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { EndorseError, GatewayError } from '@hyperledger/fabric-gateway';
import { peer } from '@hyperledger/fabric-protos';
import { describe, expect, it } from 'vitest';
import { firstAvailableBlock, isNoSuchTransaction } from './errors.ts';
import { invalidated, toChainError } from './gateway-errors.ts';

const PEER = 'peer0.hangzhou.lianxin.example:7051';

/**
 * A GatewayError as the official client makes it of a gateway's answer (fabric-gateway newGatewayError): grpc-js's
 * message `<code> <NAME>: <text>`, one ErrorDetail per peer asked, with the text that peer gave.
 */
function gatewayError(code: status, text: string, ...peerTexts: string[]): GatewayError {
  const message = `${String(code)} ${status[code]}: ${text}`;
  const cause: ServiceError = Object.assign(new Error(message), { code, details: text, metadata: new Metadata() });
  const details = peerTexts.map((m) => ({ address: PEER, mspId: 'HangzhouMSP', message: m }));
  return new GatewayError({ code, details, cause, message });
}

function classify(err: unknown) {
  const chainError = toChainError(err, 'AnchorCheckpoint', undefined);
  return { code: chainError.code, retryable: chainError.retryable, chaincodeCode: chainError.chaincodeCode };
}

describe('toChainError: a Fabric 2.5 gateway that could not get an answer now is UNAVAILABLE', () => {
  it.each([
    // endorse.go: every peer's 500 without a payload (apiutils.go responseStatus).
    [
      'the chaincode container down (stream terminated)',
      gatewayError(
        status.ABORTED,
        'failed to endorse transaction, see attached details for more info',
        'error in simulation: failed to execute transaction abc: chaincode stream terminated',
      ),
    ],
    [
      'the chaincode not answering in time',
      gatewayError(
        status.ABORTED,
        'failed to collect enough transaction endorsements, see attached details for more info',
        'error in simulation: failed to execute transaction abc: timeout expired while executing transaction',
      ),
    ],
    [
      'the chaincode-as-a-service server unreachable',
      gatewayError(
        status.ABORTED,
        'failed to endorse transaction, see attached details for more info',
        'error in simulation: failed to execute transaction abc: could not launch chaincode lianxin_1.0:0a: connection to lianxin-ccaas:9999 failed: connection refused',
      ),
    ],
    // registry.go endorsementPlan: MAJORITY endorsement with most peers down.
    [
      'discovery finding too few peers for the policy',
      gatewayError(
        status.FAILED_PRECONDITION,
        'failed to select a set of endorsers that satisfy the endorsement policy due to unavailability of peers: [peer1 peer2]',
      ),
    ],
    [
      'no peers to evaluate on',
      gatewayError(status.FAILED_PRECONDITION, 'no peers available to evaluate chaincode lianxin in channel lianxin'),
    ],
    // internal/peer/node/grpc_limiters.go: a plain error, UNKNOWN on the wire.
    [
      "a peer's concurrency limit",
      gatewayError(status.UNKNOWN, 'too many requests for /gateway.Gateway, exceeding concurrency limit (500)'),
    ],
    ['the gateway overloaded', gatewayError(status.RESOURCE_EXHAUSTED, 'too many requests')],
    ['the gateway away', gatewayError(status.UNAVAILABLE, 'No connection established')],
    ['an endorsement timeout', gatewayError(status.DEADLINE_EXCEEDED, 'endorsement timeout expired')],
    // grpc-js (subchannel-call.js): a stream reset without a status, a restarting peer or a proxy (review32 2).
    [
      'a stream reset without a status',
      gatewayError(status.INTERNAL, 'Received RST_STREAM with code 0 (Call ended without gRPC status)'),
    ],
  ])('%s', (_, err) => {
    expect(classify(err)).toEqual({ code: 'UNAVAILABLE', retryable: true, chaincodeCode: undefined });
  });
});

describe('toChainError: an answer of the chaincode, a peer or an orderer is REJECTED', () => {
  it("carries the Lianxin chaincode's code, on evaluate (UNKNOWN) and in an endorse's details (ABORTED)", () => {
    const refusal = 'chaincode response 500, CHECKPOINT_CONFLICT: origin lianxin.example/log size 100';
    const evaluate = gatewayError(status.UNKNOWN, `evaluate call to endorser returned error: ${refusal}`, refusal);
    const aborted = gatewayError(
      status.ABORTED,
      'failed to endorse transaction, see attached details for more info',
      'error in simulation: chaincode stream terminated',
      refusal,
    );
    const { code, details, cause, message } = aborted;
    const endorse = new EndorseError({ code, details, cause, message, transactionId: 'tx-1' });
    const expected = { code: 'REJECTED', retryable: false, chaincodeCode: 'CHECKPOINT_CONFLICT' };
    expect(classify(evaluate)).toEqual(expected);
    expect(classify(endorse)).toEqual(expected);
    expect(toChainError(endorse, 'AnchorCheckpoint', undefined).message).toBe(`AnchorCheckpoint: ${refusal}`);
    expect(toChainError(endorse, 'AnchorCheckpoint', undefined).transactionId).toBe('tx-1');
  });

  it("keeps qscc's answers (UNKNOWN) for isNoSuchTransaction and firstAvailableBlock", () => {
    const noSuch =
      'chaincode response 500, Failed to get block for txID tx-9, error no such transaction ID [tx-9] in index';
    const snapshot =
      'chaincode response 500, Failed to get block for txID tx-8, error details for the TXID [tx-8] not available. Ledger bootstrapped from a snapshot. First available block = [42]';
    const missing = toChainError(
      gatewayError(status.UNKNOWN, `evaluate call to endorser returned error: ${noSuch}`, noSuch),
      'GetBlockByTxID',
      'tx-9',
    );
    expect([missing.code, isNoSuchTransaction(missing)]).toEqual(['REJECTED', true]);
    const bootstrapped = toChainError(
      gatewayError(status.UNKNOWN, `evaluate call to endorser returned error: ${snapshot}`, snapshot),
      'GetBlockByTxID',
      'tx-8',
    );
    expect([bootstrapped.code, firstAvailableBlock(bootstrapped)]).toEqual(['REJECTED', 42n]);
  });

  it.each([
    // responseStatus: the local peer's preProcess refusal (signature, creator, ACL), FAILED_PRECONDITION on evaluate.
    [
      'a creator the channel does not know',
      gatewayError(
        status.FAILED_PRECONDITION,
        'evaluate call to endorser returned error: access denied: channel [lianxin] creator org unknown, creator is malformed',
      ),
    ],
    // planFromFirstEndorser: the same refusal on endorse arrives ABORTED, the peer's text in a detail.
    [
      'a bad signature on endorse',
      gatewayError(
        status.ABORTED,
        'failed to endorse transaction, see attached details for more info',
        'error validating proposal: the creator certificate is not valid: x509: certificate signed by unknown authority',
      ),
    ],
    // submit.go: an orderer's 4xx.
    [
      "an orderer's 4xx",
      gatewayError(
        status.ABORTED,
        'received unsuccessful response from orderer: status=BAD_REQUEST, info=transaction too large',
      ),
    ],
    ['a malformed request', gatewayError(status.INVALID_ARGUMENT, 'failed to unpack transaction proposal')],
    // endorser.go / apiutils.go: each refusal text of REFUSED on a code that is otherwise an outage (review32 3).
    [
      'a duplicate transaction ID',
      gatewayError(
        status.FAILED_PRECONDITION,
        'evaluate call to endorser returned error: duplicate transaction found [tx-1]. Creator [ab]',
      ),
    ],
    [
      'a policy the creator does not meet',
      gatewayError(
        status.ABORTED,
        'failed to endorse transaction, see attached details for more info',
        'failed evaluating policy on signed data during check policy on channel [lianxin] with policy [/Channel/Application/Writers]',
      ),
    ],
    [
      'a private data collection refused',
      gatewayError(status.FAILED_PRECONDITION, 'no private data collection lianxin_private in chaincode lianxin'),
    ],
    [
      'a request over the size limit, received',
      gatewayError(status.RESOURCE_EXHAUSTED, 'Received message larger than max (104857700 vs 104857600)'),
    ],
    [
      'a request over the size limit, to send',
      gatewayError(status.INTERNAL, 'Attempted to send message with a size larger than 104857600'),
    ],
    ['a refused commit status', gatewayError(status.PERMISSION_DENIED, 'access denied')],
  ])('%s', (_, err) => {
    expect(classify(err)).toEqual({ code: 'REJECTED', retryable: false, chaincodeCode: undefined });
  });
});

describe('toChainError: an invalidated transaction', () => {
  it.each([
    ['MVCC_READ_CONFLICT', peer.TxValidationCode.MVCC_READ_CONFLICT, 'CONFLICT'],
    ['PHANTOM_READ_CONFLICT', peer.TxValidationCode.PHANTOM_READ_CONFLICT, 'CONFLICT'],
    ['CHAINCODE_VERSION_CONFLICT', peer.TxValidationCode.CHAINCODE_VERSION_CONFLICT, 'CONFLICT'],
    // An organisation joined or left between endorsement and commit (review32 1).
    ['ENDORSEMENT_POLICY_FAILURE', peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE, 'CONFLICT'],
    ['BAD_CREATOR_SIGNATURE', peer.TxValidationCode.BAD_CREATOR_SIGNATURE, 'REJECTED'],
    ['DUPLICATE_TXID', peer.TxValidationCode.DUPLICATE_TXID, 'REJECTED'],
  ])('%s (%i) is %s, named with its code', (name, code, expected) => {
    const err = toChainError(invalidated('AnchorCheckpoint', 'tx-3', code), 'AnchorCheckpoint', 'tx-3');
    expect([err.code, err.transactionId, err.message]).toEqual([
      expected,
      'tx-3',
      `AnchorCheckpoint tx-3 was invalidated: ${name} (${String(code)})`,
    ]);
  });
});

describe('toChainError: any other error', () => {
  it('is UNAVAILABLE and keeps the ID of a transaction already sent for ordering', () => {
    const err = toChainError(new SyntaxError('Unexpected end of JSON input'), 'AnchorCheckpoint', 'tx-4');
    expect([err.code, err.transactionId, err.message]).toEqual([
      'UNAVAILABLE',
      'tx-4',
      'AnchorCheckpoint: Unexpected end of JSON input',
    ]);
  });
});
