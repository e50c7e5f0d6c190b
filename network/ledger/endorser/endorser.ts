/**
 * The peer's endorser (core/endorser/endorser.go): checks a proposal, simulates it on the chaincode against
 * committed state, and signs the result. `prepareTransaction` builds the envelope the client signs and submits,
 * exactly as the 2.5 gateway does (internal/pkg/gateway/submit.go:113).
 */
import { common, peer } from '@hyperledger/fabric-protos';
import { LedgerError } from '../errors.ts';
import type {
  ChaincodeConnection,
  ChaincodeResponse,
  IdentityVerifier,
  Signer,
  SimulationResult,
  StateReader,
  TxLocation,
} from '../types.ts';
import { checkProposalCreator, unpackProposal, type UnpackedProposal } from './proposal.ts';

/** A chaincode the peer itself implements (qscc): read-only, answers from the ledger. */
export interface SystemChaincode {
  readonly name: string;
  invoke(functionName: string, args: readonly Uint8Array[], channelId: string): Promise<ChaincodeResponse>;
}

export interface EndorserComponents {
  readonly channelId: string;
  readonly msps: IdentityVerifier;
  readonly state: StateReader;
  readonly findTransaction: (txId: string) => Promise<TxLocation | undefined>;
  readonly chaincodes: ReadonlyMap<string, ChaincodeConnection>;
  readonly systemChaincodes: ReadonlyMap<string, SystemChaincode>;
  readonly peerSigner: Signer;
  /**
   * Told of each endorsement signature the peer makes, so the committer need not verify its own signature again
   * (ChannelMsps.rememberVerified).
   */
  readonly onEndorsementSigned?: (endorser: Uint8Array, message: Uint8Array, signature: Uint8Array) => void;
  /**
   * Given the private data writes of each endorsed transaction, for the transient store: they travel to the
   * committer beside the transaction, never in it.
   */
  readonly onPrivateData?: (txId: string, privateData: Uint8Array) => void;
  /** The peer's warnings for its operator: why a creator was refused, which its caller is not told. */
  readonly onWarning?: (message: string) => void;
  /** The version named in ChaincodeAction.chaincode_id. */
  readonly chaincodeVersion: string;
}

export interface Endorsement {
  readonly proposal: UnpackedProposal;
  readonly response: ChaincodeResponse;
  /** The unsigned prepared transaction: serialized common.Envelope with an empty signature. */
  readonly preparedTransaction: Uint8Array;
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
    return { proposal, response: result.response, preparedTransaction: this.#prepare(proposal, result) };
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
    await checkProposalCreator(proposal, this.#c.msps, this.#c.onWarning);
    if (await this.#c.findTransaction(proposal.txId)) {
      throw new LedgerError(
        'PROPOSAL_REJECTED',
        `duplicate transaction found [${proposal.txId}]. Creator [${proposal.channelId}]`,
      );
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
    return chaincode
      .execute(
        {
          channelId: proposal.channelId,
          txId: proposal.txId,
          chaincodeName: proposal.chaincodeName,
          signedProposal: proposal.signedProposal,
          input: proposal.input,
        },
        this.#c.state,
        signal ? { signal } : undefined,
      )
      .catch((cause: unknown) => {
        // The chaincode never answered: stream dropped, timeout, not registered (chaincode_support.go).
        const message = cause instanceof Error ? cause.message : String(cause);
        throw new LedgerError('CHAINCODE_UNAVAILABLE', message, { cause });
      });
  }

  #prepare(proposal: UnpackedProposal, result: SimulationResult): Uint8Array {
    const { peerSigner } = this.#c;
    const action = new peer.ChaincodeAction();
    action.setResults(result.rwset);
    if (result.event) {
      const event = new peer.ChaincodeEvent();
      event.setChaincodeId(proposal.chaincodeName);
      event.setTxId(proposal.txId);
      event.setEventName(result.event.eventName);
      event.setPayload(result.event.payload);
      action.setEvents(event.serializeBinary());
    }
    action.setResponse(toPeerResponse(result.response));
    const chaincodeId = new peer.ChaincodeID();
    chaincodeId.setName(proposal.chaincodeName);
    chaincodeId.setVersion(this.#c.chaincodeVersion);
    action.setChaincodeId(chaincodeId);

    const prp = new peer.ProposalResponsePayload();
    prp.setProposalHash(proposal.proposalHash);
    prp.setExtension$(action.serializeBinary());
    const prpBytes = prp.serializeBinary();

    // Endorsement signature over prp ‖ endorser (core/handlers/endorsement/builtin/default_endorsement.go:47).
    const endorsement = new peer.Endorsement();
    endorsement.setEndorser(peerSigner.serializedIdentity);
    const signed = Buffer.concat([prpBytes, peerSigner.serializedIdentity]);
    const signature = peerSigner.sign(signed);
    endorsement.setSignature(signature);
    this.#c.onEndorsementSigned?.(peerSigner.serializedIdentity, signed, signature);

    const endorsed = new peer.ChaincodeEndorsedAction();
    endorsed.setProposalResponsePayload(prpBytes);
    endorsed.setEndorsementsList([endorsement]);
    const actionPayload = new peer.ChaincodeActionPayload();
    actionPayload.setChaincodeProposalPayload(proposal.strippedPayload);
    actionPayload.setAction(endorsed);

    const txAction = new peer.TransactionAction();
    txAction.setHeader(proposal.signatureHeaderBytes);
    txAction.setPayload(actionPayload.serializeBinary());
    const transaction = new peer.Transaction();
    transaction.setActionsList([txAction]);

    const header = new common.Header();
    header.setChannelHeader(proposal.channelHeaderBytes);
    header.setSignatureHeader(proposal.signatureHeaderBytes);
    const payload = new common.Payload();
    payload.setHeader(header);
    payload.setData(transaction.serializeBinary());
    const envelope = new common.Envelope();
    envelope.setPayload(payload.serializeBinary());
    return envelope.serializeBinary();
  }
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
