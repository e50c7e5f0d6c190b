/**
 * The peer's endorser (core/endorser/endorser.go): checks a proposal, simulates it on the chaincode against
 * committed state, and signs the result. `prepareTransaction` builds the envelope the client signs and submits,
 * exactly as the 2.5 gateway does (internal/pkg/gateway/submit.go:113).
 */
import { peer } from '@hyperledger/fabric-protos';
import {
  bytesField,
  int32Field,
  messageField,
  messageParts,
  NO_FIELD,
  singleBytesField,
  stringField,
} from '../block/protobuf-wire.ts';
import { LedgerError } from '../errors.ts';
import { APPLICATION_READERS, APPLICATION_WRITERS, policyRefusal, type ChannelAccess } from '../msp/index.ts';
import { encodeInSharedFrame } from '../gateway/shared-frames.ts';
import type {
  ChaincodeConnection,
  ChaincodeResponse,
  IdentityVerifier,
  Signer,
  SimulationResult,
  SnapshotSource,
  TxLocation,
} from '../types.ts';
import type { PreparedTransaction } from './prepared-transactions.ts';
import { checkProposalCreator, unpackProposal, type UnpackedProposal } from './proposal.ts';

/** A chaincode the peer itself implements (qscc): read-only, answers from the ledger. */
export interface SystemChaincode {
  readonly name: string;
  invoke(functionName: string, args: readonly Uint8Array[], channelId: string): Promise<ChaincodeResponse>;
}

export interface EndorserComponents {
  readonly channelId: string;
  readonly msps: IdentityVerifier;
  /** Committed state: each simulation reads one snapshot of it. */
  readonly state: SnapshotSource;
  readonly findTransaction: (txId: string) => Promise<TxLocation | undefined>;
  readonly chaincodes: ReadonlyMap<string, ChaincodeConnection>;
  readonly systemChaincodes: ReadonlyMap<string, SystemChaincode>;
  readonly peerSigner: Signer;
  /** The newest config's Readers and Writers, which a proposal's creator must be. */
  readonly access: () => Pick<ChannelAccess, 'readers' | 'writers'>;
  /**
   * Given the private data writes of each endorsed transaction, for the transient store: they travel to the
   * committer beside the transaction, never in it.
   */
  readonly onPrivateData?: (txId: string, privateData: Uint8Array) => void;
  /** The peer's warnings for its operator: why a creator was refused, which its caller is not told. */
  readonly onWarning?: (message: string) => void;
  /**
   * Told of each transaction prepared for the client to sign: its payload and what the payload holds, for the
   * orderer's admission and the committer (PreparedTransactions).
   */
  readonly onPrepared?: (prepared: PreparedTransaction) => void;
  /** The version named in ChaincodeAction.chaincode_id. */
  readonly chaincodeVersion: string;
}

export interface Endorsement {
  readonly proposal: UnpackedProposal;
  readonly response: ChaincodeResponse;
  /** The unsigned prepared transaction: serialized common.Envelope with an empty signature. */
  readonly preparedTransaction: Uint8Array;
  /**
   * gateway.EndorseResponse{prepared_transaction: preparedTransaction}, the buffer preparedTransaction is the tail
   * of: the gateway's answer, written with the envelope so that a megabyte envelope is not copied once more only
   * to be put behind a two- to four-byte field header (bench/RESULTS.md, issue 13: ledger5).
   */
  readonly endorseResponse: Uint8Array;
}

export class Endorser {
  readonly #c: EndorserComponents;

  constructor(components: Readonly<EndorserComponents>) {
    this.#c = components;
  }

  /** Runs a proposal without endorsing it; chaincode status >= 400 is an error (the client ignores status). */
  async evaluate(signedProposal: Uint8Array, signal?: AbortSignal): Promise<ChaincodeResponse> {
    const proposal = await this.#preProcess(signedProposal, 'evaluate');
    const system = this.#c.systemChaincodes.get(proposal.chaincodeName);
    const response = system
      ? await system.invoke(proposal.functionName, proposal.args.slice(1), proposal.channelId)
      : (await this.#simulate(proposal, 'evaluate', signal)).response;
    assertSuccessful(response);
    return response;
  }

  async endorse(signedProposal: Uint8Array, signal?: AbortSignal): Promise<Endorsement> {
    const proposal = await this.#preProcess(signedProposal, 'endorse');
    if (this.#c.systemChaincodes.has(proposal.chaincodeName)) {
      throw new LedgerError(
        'PROPOSAL_REJECTED',
        `system chaincode ${proposal.chaincodeName} cannot be invoked in a transaction`,
      );
    }
    const result = await this.#simulate(proposal, 'endorse', signal);
    assertSuccessful(result.response);
    if (result.privateData) this.#c.onPrivateData?.(proposal.txId, result.privateData);
    return { proposal, response: result.response, ...this.#prepare(proposal, result) };
  }

  async #preProcess(signedProposal: Uint8Array, operation: 'evaluate' | 'endorse'): Promise<UnpackedProposal> {
    const proposal = unpackProposal(signedProposal);
    if (proposal.channelId !== this.#c.channelId) {
      // Fabric's gateway fails before any peer is asked: evaluate cannot load the channel's config
      // (evaluate.go connectChannelPeers), endorse finds no endorsement plan for it (endorse.go).
      const ch = proposal.channelId;
      throw new LedgerError(
        'CHANNEL_NOT_FOUND',
        operation === 'evaluate'
          ? `failed to get config for channel [${ch}]: could not get last config for channel ${ch}`
          : noEndorsementPlan(proposal.chaincodeName, ch),
      );
    }
    const creator = await checkProposalCreator(proposal, this.#c.msps, this.#c.onWarning);
    if (await this.#c.findTransaction(proposal.txId)) {
      throw new LedgerError(
        'PROPOSAL_REJECTED',
        `duplicate transaction found [${proposal.txId}]. Creator [${proposal.channelId}]`,
      );
    }
    // endorser.go preProcess, then: a chaincode's proposal needs peer/Propose (/Channel/Application/Writers); a
    // system chaincode's functions have ACLs of their own, Readers for qscc's and cscc's (aclmgmt/resources).
    const system = this.#c.systemChaincodes.has(proposal.chaincodeName);
    const access = this.#c.access();
    const verdict = system ? access.readers(creator) : access.writers(creator);
    if (!verdict.ok) {
      const policy = system ? APPLICATION_READERS : APPLICATION_WRITERS;
      throw new LedgerError('PROPOSAL_REJECTED', policyRefusal(proposal.channelId, policy, verdict.reason));
    }
    return proposal;
  }

  async #simulate(
    proposal: UnpackedProposal,
    operation: 'evaluate' | 'endorse',
    signal?: AbortSignal,
  ): Promise<SimulationResult> {
    const chaincode = this.#c.chaincodes.get(proposal.chaincodeName);
    if (!chaincode) {
      // registry.go: evaluator() finds no peer with the chaincode; endorsementPlan() no discovery metadata.
      throw new LedgerError(
        'CHAINCODE_NOT_FOUND',
        operation === 'evaluate'
          ? `no peers available to evaluate chaincode ${proposal.chaincodeName} in channel ${proposal.channelId}`
          : noEndorsementPlan(proposal.chaincodeName, proposal.channelId),
      );
    }
    const state = this.#c.state.stateSnapshot();
    return chaincode
      .execute(
        {
          channelId: proposal.channelId,
          txId: proposal.txId,
          chaincodeName: proposal.chaincodeName,
          signedProposal: proposal.signedProposal,
          input: proposal.input,
          inputWrittenHere: true,
        },
        state,
        signal ? { signal } : undefined,
      )
      .catch((cause: unknown) => {
        // The chaincode never answered: stream dropped, timeout, not registered (chaincode_support.go).
        const message = cause instanceof Error ? cause.message : String(cause);
        throw new LedgerError('CHAINCODE_UNAVAILABLE', message, { cause });
      })
      .finally(() => state.close().catch(() => undefined));
  }

  /**
   * The unsigned Envelope of submit.go:113 (protoutil.CreateSignedTx), written straight into bytes: the same bytes
   * google-protobuf's message objects gave (endorser.test.ts compares them), without a dozen objects per transaction.
   * The record of what it holds goes to `onPrepared`, so that the committer need not decode it again.
   */
  /** The prepared transaction, written as field 1 of gateway.EndorseResponse (see Endorsement.endorseResponse). */
  #prepare(
    proposal: UnpackedProposal,
    result: SimulationResult,
  ): Pick<Endorsement, 'preparedTransaction' | 'endorseResponse'> {
    const { peerSigner } = this.#c;
    const { status, message: responseMessage, payload: responsePayload } = result.response;
    // Bytes fields that hold a message (extension, events, data, payload) are written as messageField: each is
    // never empty here (a ChaincodeAction always names its chaincode), where bytes and message fields agree.
    // ProposalResponsePayload{proposal_hash, extension: ChaincodeAction{results, events, response, chaincode_id}}
    const prpFields = [
      bytesField(1, proposal.proposalHash),
      messageField(
        2,
        // ChaincodeAction.results, a bytes field holding a TxReadWriteSet: left out when empty.
        result.rwsetFields === undefined
          ? bytesField(1, result.rwset)
          : result.rwsetFields.length === 0
            ? NO_FIELD
            : messageField(1, ...result.rwsetFields),
        result.event
          ? messageField(
              2,
              stringField(1, proposal.chaincodeName),
              stringField(2, proposal.txId),
              stringField(3, result.event.eventName),
              bytesField(4, result.event.payload),
            )
          : NO_FIELD,
        messageField(3, int32Field(1, status), stringField(2, responseMessage), bytesField(3, responsePayload)),
        messageField(4, stringField(2, proposal.chaincodeName), stringField(3, this.#c.chaincodeVersion)),
      ),
    ];

    // Endorsement signature over prp ‖ endorser (core/handlers/endorsement/builtin/default_endorsement.go:47), signed
    // as parts before prp is written anywhere: it holds the write set and the event, megabytes for a large anchor,
    // which are then written once, into the envelope.
    const endorser = peerSigner.serializedIdentity;
    const signature = peerSigner.sign([...messageParts(...prpFields), endorser]);

    // Payload{header: Header{channel_header, signature_header}, data: Transaction{actions: [TransactionAction{
    // header, payload: ChaincodeActionPayload{chaincode_proposal_payload, action: ChaincodeEndorsedAction{
    // proposal_response_payload, endorsements: [Endorsement{endorser, signature}]}}}]}}
    const payloadField = messageField(
      1,
      messageField(1, bytesField(1, proposal.channelHeaderBytes), bytesField(2, proposal.signatureHeaderBytes)),
      messageField(
        2,
        messageField(
          1,
          bytesField(1, proposal.signatureHeaderBytes),
          messageField(
            2,
            bytesField(1, proposal.strippedPayload),
            messageField(
              2,
              messageField(1, ...prpFields),
              messageField(2, bytesField(1, endorser), bytesField(2, signature)),
            ),
          ),
        ),
      ),
    );
    // EndorseResponse{prepared_transaction: Envelope{payload}}, written once: the envelope is the response's tail and
    // the payload the envelope's, neither a buffer of its own copied into the next; and the response inside the gRPC
    // frame it is sent in, which grpc-js would otherwise copy it into (shared-frames.ts).
    const envelopeField = messageField(PREPARED_TRANSACTION_OF_RESPONSE, payloadField);
    const response = encodeInSharedFrame([envelopeField]);
    const envelope = response.subarray(response.length - envelopeField.length);
    const payload = envelope.subarray(envelope.length - payloadField.length);
    const data = singleBytesField(payload, 2) ?? EMPTY;
    const prpBytes = proposalResponsePayloadOf(data);
    this.#c.onPrepared?.({
      payload,
      signature: EMPTY,
      data,
      channelHeaderBytes: proposal.channelHeaderBytes,
      signatureHeaderBytes: proposal.signatureHeaderBytes,
      type: proposal.type,
      epoch: proposal.epoch,
      txId: proposal.txId,
      channelId: proposal.channelId,
      creator: proposal.creator,
      nonce: proposal.nonce,
      endorsed: {
        chaincodeName: proposal.chaincodeName,
        // Where the endorser wrote them, not a buffer of their own.
        results: resultsOf(prpBytes),
        proposalResponsePayload: prpBytes,
        endorsements: [{ endorser, signature }],
        signedHere: true,
        ...(result.rwsets === undefined ? {} : { rwsets: result.rwsets }),
      },
    });
    // The client adds the signature.
    return { preparedTransaction: envelope, endorseResponse: response };
  }
}

const EMPTY = new Uint8Array(0);
/** gateway.EndorseResponse.prepared_transaction (fabric-protos gateway/gateway.proto). */
const PREPARED_TRANSACTION_OF_RESPONSE = 1;

/**
 * Transaction.actions[0].payload (ChaincodeActionPayload).action (ChaincodeEndorsedAction).proposal_response_payload
 * of the transaction the endorser just wrote, where it lies in the envelope.
 */
function proposalResponsePayloadOf(transaction: Uint8Array): Uint8Array {
  const action = singleBytesField(transaction, 1);
  const actionPayload = action && singleBytesField(action, 2);
  const endorsed = actionPayload && singleBytesField(actionPayload, 2);
  const prp = endorsed && singleBytesField(endorsed, 1);
  if (prp === undefined) throw new Error('the prepared transaction has no proposal response payload');
  return prp;
}

/** ProposalResponsePayload.extension (ChaincodeAction).results as written in `prp`; empty when left out. */
function resultsOf(prp: Uint8Array): Uint8Array {
  const action = singleBytesField(prp, 2);
  if (action === undefined) throw new Error('the prepared transaction has no chaincode action');
  return singleBytesField(action, 1) ?? EMPTY;
}

function noEndorsementPlan(chaincodeName: string, channelId: string): string {
  return `no combination of peers can be derived which satisfy the endorsement policy: No metadata was found for chaincode ${chaincodeName} in channel ${channelId}`;
}

function assertSuccessful(response: ChaincodeResponse): void {
  if (response.status >= 400) {
    throw new LedgerError('CHAINCODE_FAILED', `chaincode response ${response.status}, ${response.message}`, {
      chaincodeStatus: response.status,
    });
  }
}

export function toPeerResponse(response: ChaincodeResponse): peer.Response {
  const r = new peer.Response();
  r.setStatus(response.status);
  r.setMessage(response.message);
  r.setPayload(response.payload);
  return r;
}
