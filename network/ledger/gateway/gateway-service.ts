/**
 * `gateway.Gateway` as the Fabric 2.5 gateway serves it (internal/pkg/gateway/*.go), for the unmodified
 * @hyperledger/fabric-gateway client. Every request is attacker-controlled bytes.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { common, gateway, orderer, peer } from '@hyperledger/fabric-protos';
import {
  bytesValue,
  encodeMessage,
  int32Field,
  readSingularMessage,
  textValue,
  uint64Field,
  type MessageSchema,
} from '../block/protobuf-wire.ts';
import { LedgerError } from '../errors.ts';
import { APPLICATION_READERS, policyRefusal } from '../msp/index.ts';
import { blockTransactions } from '../events/block-transactions.ts';
import { toPeerResponse } from '../endorser/index.ts';
import type { TxLocation } from '../types.ts';
import { callSignal, watchCall, type CallCancellation } from './call-signal.ts';
import { ChaincodeEventsCache } from './chaincode-events-cache.ts';
import { encodeChaincodeEventsResponse } from './chaincode-events-response.ts';
import type { GatewayBackend } from './gateway-backend.ts';
import { toServiceError, type GatewayOperation } from './grpc-errors.ts';
import { decodeRequest, messageFieldBytes, readMessageField } from './raw-service.ts';

/** Field numbers (fabric-protos gateway/gateway.proto): EndorseRequest and SubmitRequest field 3. */
const PROPOSED_TRANSACTION = 3;
const PREPARED_TRANSACTION = 3;
/** Envelope.signature (common/common.proto). */
const ENVELOPE_SIGNATURE = 2;

// The requests as readMessage checks them. Strings are read as bytes: google-protobuf decodes any bytes as text.
/** EndorseRequest{transaction_id, channel_id, proposed_transaction, endorsing_organizations}. */
const ENDORSE_REQUEST: MessageSchema = { 1: 'bytes', 2: 'bytes', 3: 'bytes', 4: 'bytes' };
/** SubmitRequest{transaction_id, channel_id, prepared_transaction}. */
const SUBMIT_REQUEST: MessageSchema = { 1: 'bytes', 2: 'bytes', 3: 'bytes' };
/** SignedProposal{proposal_bytes, signature} and Envelope{payload, signature}. */
const SIGNED_BYTES: MessageSchema = { 1: 'bytes', 2: 'bytes' };

type Unary = (call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>) => void;

export function gatewayService(backend: GatewayBackend): UntypedServiceImplementation {
  const eventsCache = new ChaincodeEventsCache();
  const unary =
    (
      operation: GatewayOperation,
      handle: (request: Buffer, call: CallCancellation) => Uint8Array | Promise<Uint8Array>,
    ): Unary =>
    (call, callback) => {
      const watched = watchCall(call);
      // Through then(): a handler that throws synchronously must still answer with its status, not UNKNOWN.
      Promise.resolve(call.request)
        .then((request) => handle(request, watched))
        .then(
          (response) => {
            watched[Symbol.dispose]();
            callback(null, response);
          },
          (err: unknown) => {
            watched[Symbol.dispose]();
            callback(toServiceError(err, operation, backend.peer));
          },
        );
    };

  return {
    Evaluate: unary('evaluate', async (bytes, call) => {
      const request = decodeRequest('EvaluateRequest', bytes, (b) => gateway.EvaluateRequest.deserializeBinary(b));
      const proposal = requireField(request.getProposedTransaction(), 'proposed_transaction');
      const result = await backend.endorser.evaluate(proposal.serializeBinary(), call.signal);
      const response = new gateway.EvaluateResponse();
      response.setResult(toPeerResponse(result));
      return response.serializeBinary();
    }),

    // Endorse and Submit pass on the bytes of the proposal and the envelope as received, and the prepared envelope
    // as the endorser encoded it: what is signed inside them are bytes fields, which no re-encoding changes.
    Endorse: unary('endorse', async (bytes, call) => {
      const endorsement = await backend.endorser.endorse(proposedTransaction(bytes), call.signal);
      return endorsement.endorseResponse;
    }),

    Submit: unary('submit', (bytes) => {
      backend.order(preparedTransaction(bytes));
      return new gateway.SubmitResponse().serializeBinary();
    }),

    CommitStatus: unary('commitStatus', async (bytes, call) => {
      const signed = signedRequestOf('SignedCommitStatusRequest', bytes, (b) =>
        gateway.SignedCommitStatusRequest.deserializeBinary(b),
      );
      const request = commitStatusRequestOf(signed.request);
      await verifyRequest(backend, signed, request);
      if (request.transactionId === '') throw new LedgerError('BAD_REQUEST', 'transaction_id is empty');
      const location = await waitForTransaction(backend, request.transactionId, call);
      // CommitStatusResponse{result, block_number}, as google-protobuf writes it
      return encodeMessage(int32Field(1, location.code), uint64Field(2, location.blockNum));
    }),

    ChaincodeEvents: (call: ServerWritableStream<Buffer, Uint8Array>) => {
      backend.streams
        .run(() => streamChaincodeEvents(backend, call, eventsCache))
        .catch((err: unknown) => {
          // A cancelled call has no one to tell (the handler ended because of it, e.g. while waiting for drain).
          if (call.cancelled) return;
          // grpc-js sends a server stream's status from its 'error' event; destroy() would end it with none.
          call.emit('error', toServiceError(err, 'chaincodeEvents', backend.peer));
        });
    },
  };
}

/** EndorseRequest.proposed_transaction as received, or as google-protobuf writes it again when it repeats. */
function proposedTransaction(bytes: Buffer): Uint8Array {
  const read = readMessageField(bytes, ENDORSE_REQUEST, PROPOSED_TRANSACTION, SIGNED_BYTES);
  if (read) return read.bytes;
  const request = decodeRequest('EndorseRequest', bytes, (b) => gateway.EndorseRequest.deserializeBinary(b));
  const proposal = requireField(request.getProposedTransaction(), 'proposed_transaction');
  return messageFieldBytes(bytes, PROPOSED_TRANSACTION) ?? proposal.serializeBinary();
}

/** SubmitRequest.prepared_transaction as received (or written again, as above), refused when unsigned. */
function preparedTransaction(bytes: Buffer): Uint8Array {
  const read = readMessageField(bytes, SUBMIT_REQUEST, PREPARED_TRANSACTION, SIGNED_BYTES);
  if (read && read.fields.count(ENVELOPE_SIGNATURE) <= 1) {
    return signedEnvelope(read.bytes, read.fields.single(ENVELOPE_SIGNATURE));
  }
  const request = decodeRequest('SubmitRequest', bytes, (b) => gateway.SubmitRequest.deserializeBinary(b));
  const envelope = requireField(request.getPreparedTransaction(), 'prepared_transaction');
  return signedEnvelope(
    messageFieldBytes(bytes, PREPARED_TRANSACTION) ?? envelope.serializeBinary(),
    envelope.getSignature_asU8(),
  );
}

/** The envelope, refused when its signature is empty or absent (submit.go:36). */
function signedEnvelope(envelope: Uint8Array, signature: unknown): Uint8Array {
  if (!(signature instanceof Uint8Array) || signature.length === 0) {
    throw new LedgerError('BAD_REQUEST', 'prepared transaction must be signed');
  }
  return envelope;
}

function requireField<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new LedgerError('BAD_REQUEST', `${field} is missing`);
  return value;
}

/** A signed request (SignedCommitStatusRequest, SignedChaincodeEventsRequest): the request's bytes and signature. */
interface SignedRequest {
  readonly request: Uint8Array;
  readonly signature: Uint8Array;
}

/** What a signed request's inner request says of its channel and its signer. */
interface ChannelRequest {
  readonly channelId: string;
  readonly identity: Uint8Array;
}

interface CommitStatusRequest extends ChannelRequest {
  readonly transactionId: string;
}

// Strings are read as text here: google-protobuf decodes invalid UTF-8 without an error, readMessage leaves it to it.
/** CommitStatusRequest{transaction_id, channel_id, identity}. */
const COMMIT_STATUS_REQUEST: MessageSchema = { 1: 'string', 2: 'string', 3: 'bytes' };

/**
 * A signed request read from its wire bytes when each field occurs at most once, else decoded by google-protobuf
 * (refused as `what` could not be parsed).
 */
function signedRequestOf(
  what: string,
  bytes: Uint8Array,
  decode: (bytes: Uint8Array) => { getRequest_asU8(): Uint8Array; getSignature_asU8(): Uint8Array },
): SignedRequest {
  const fields = readSingularMessage(bytes, SIGNED_BYTES);
  if (fields !== undefined) return { request: bytesValue(fields.single(1)), signature: bytesValue(fields.single(2)) };
  const signed = decodeRequest(what, bytes, decode);
  return { request: signed.getRequest_asU8(), signature: signed.getSignature_asU8() };
}

/** CommitStatusRequest read as {@link signedRequestOf} reads the signed one. */
function commitStatusRequestOf(bytes: Uint8Array): CommitStatusRequest {
  const fields = readSingularMessage(bytes, COMMIT_STATUS_REQUEST);
  if (fields !== undefined) {
    return {
      transactionId: textValue(fields.single(1)),
      channelId: textValue(fields.single(2)),
      identity: bytesValue(fields.single(3)),
    };
  }
  const request = decodeRequest('CommitStatusRequest', bytes, (b) => gateway.CommitStatusRequest.deserializeBinary(b));
  return {
    transactionId: request.getTransactionId(),
    channelId: request.getChannelId(),
    identity: request.getIdentity_asU8(),
  };
}

/**
 * Checks the request's signature by the identity it names, which must be a channel reader (commitstatus.go,
 * chaincodeevents.go: `/Channel/Application/Readers`).
 */
async function verifyRequest(backend: GatewayBackend, signed: SignedRequest, request: ChannelRequest): Promise<void> {
  if (request.channelId !== backend.channelId) {
    throw new LedgerError('CHANNEL_NOT_FOUND', `channel '${request.channelId}' not found`);
  }
  const check = await backend.msps.verifySignatureAsync(request.identity, signed.request, signed.signature);
  if (!check.ok) throw new LedgerError('ACCESS_DENIED', `access denied: ${check.reason}`);
  const reader = backend.access.readers(check.identity);
  if (!reader.ok)
    throw new LedgerError('ACCESS_DENIED', policyRefusal(backend.channelId, APPLICATION_READERS, reader.reason));
}

/**
 * Blocks until the txid is committed (commit/finder.go); the call's deadline ends the wait. The call's signal is
 * made only for a wait: a transaction committed already is answered without one.
 */
async function waitForTransaction(backend: GatewayBackend, txId: string, call: CallCancellation): Promise<TxLocation> {
  for (;;) {
    const height = backend.blocks.height;
    const location = await backend.findTransaction(txId);
    if (location) return location;
    const signal = call.signal;
    try {
      const committed = await backend.blocks.waitForTransaction(txId, height, signal);
      if (committed) return committed;
    } catch (cause) {
      if (signal.aborted)
        throw new LedgerError('TIMEOUT', `timed out waiting for transaction ${txId} to commit`, { cause });
      throw cause;
    }
  }
}

/** internal/pkg/gateway/chaincodeevents.go and event/chaincodeiterator.go. */
async function streamChaincodeEvents(
  backend: GatewayBackend,
  call: ServerWritableStream<Buffer, Uint8Array>,
  cache: ChaincodeEventsCache,
): Promise<void> {
  const signal = callSignal(call);
  const signed = signedRequestOf('SignedChaincodeEventsRequest', call.request, (b) =>
    gateway.SignedChaincodeEventsRequest.deserializeBinary(b),
  );
  const request = decodeRequest('ChaincodeEventsRequest', signed.request, (b) =>
    gateway.ChaincodeEventsRequest.deserializeBinary(b),
  );
  await verifyRequest(backend, signed, { channelId: request.getChannelId(), identity: request.getIdentity_asU8() });
  const chaincodeId = request.getChaincodeId();
  if (chaincodeId === '') throw new LedgerError('BAD_REQUEST', 'chaincode_id is empty');

  const afterTxId = request.getAfterTransactionId();
  const afterLocation = afterTxId === '' ? undefined : await backend.findTransaction(afterTxId);
  const start = request.getStartPosition();
  // chaincodeevents.go startBlockFromLedgerPosition: only NEXT_COMMIT (or none) and SPECIFIED are positions here.
  const { OLDEST, NEWEST } = orderer.SeekPosition.TypeCase;
  const startType = start?.getTypeCase();
  if (afterLocation === undefined && (startType === OLDEST || startType === NEWEST)) {
    const type = startType === OLDEST ? 'Oldest' : 'Newest';
    throw new LedgerError('BAD_REQUEST', `invalid start position type: *orderer.SeekPosition_${type}`);
  }
  let blockNum =
    afterLocation?.blockNum ??
    (start?.getTypeCase() === orderer.SeekPosition.TypeCase.SPECIFIED
      ? (start.getSpecified()?.getNumber() ?? 0)
      : backend.blocks.height);
  let skipUntilAfter = afterLocation ? afterTxId : undefined;

  while (!signal.aborted) {
    await backend.blocks.waitForHeight(blockNum + 1, signal);
    const skip = skipUntilAfter;
    skipUntilAfter = undefined;
    // A resumed stream's first block is its own answer; every other block's is the same for every stream.
    const answer =
      skip === undefined
        ? await cache.get(blockNum, chaincodeId, () => chaincodeEventsAnswer(backend, blockNum, chaincodeId, undefined))
        : await chaincodeEventsAnswer(backend, blockNum, chaincodeId, skip);
    if (answer !== undefined && !call.write(answer)) await backend.streams.drain(call, signal);
    blockNum++;
  }
}

/** Block `blockNum`'s ChaincodeEventsResponse for `chaincodeId`, after transaction `skipUntilAfter` if given. */
async function chaincodeEventsAnswer(
  backend: GatewayBackend,
  blockNum: number,
  chaincodeId: string,
  skipUntilAfter: string | undefined,
): Promise<Uint8Array | undefined> {
  const block = await backend.getBlock(blockNum);
  if (!block) throw new LedgerError('BAD_REQUEST', `block ${blockNum} not found`);
  const events: peer.ChaincodeEvent[] = [];
  for (const tx of blockTransactions(block)) {
    if (skipUntilAfter !== undefined) {
      if (tx.txId === skipUntilAfter) skipUntilAfter = undefined;
      continue;
    }
    if (tx.type !== common.HeaderType.ENDORSER_TRANSACTION || tx.validationCode !== peer.TxValidationCode.VALID)
      continue;
    // event/transaction.go:97: only complete events of the requested chaincode.
    events.push(
      ...tx.events.filter((e) => e.getChaincodeId() === chaincodeId && e.getEventName() !== '' && e.getTxId() !== ''),
    );
  }
  if (events.length === 0) return undefined;
  return encodeChaincodeEventsResponse(blockNum, events);
}
