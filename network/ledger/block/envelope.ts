import { common } from '@hyperledger/fabric-protos';
import type { NamespaceRwset } from '../types.ts';
import { singleLengthDelimitedFields } from './protobuf-wire.ts';

/**
 * The channel header of a serialized envelope, or undefined when any layer does not parse.
 * `envelope` is attacker-controlled bytes from a block.
 */
export function tryReadChannelHeader(envelope: Uint8Array): common.ChannelHeader | undefined {
  try {
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envelope).getPayload_asU8());
    const header = payload.getHeader();
    return header ? common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An envelope's size as Fabric's orderer measures it against BatchSize.AbsoluteMaxBytes (msgprocessor/sizefilter.go
 * and the block cutter's messageSizeBytes): its payload's and its signature's lengths, without the tags and lengths
 * around them. An envelope that does not parse counts whole: it is refused as unparseable whatever its size. Read
 * by the wire reader; google-protobuf decodes only one it cannot read (a repeated field, another wire type).
 * `bytes` is attacker-controlled.
 */
export function envelopeMessageBytes(bytes: Uint8Array): number {
  const fields = singleLengthDelimitedFields(bytes);
  if (fields !== undefined) return (fields.get(1)?.length ?? 0) + (fields.get(2)?.length ?? 0);
  const envelope = parse(() => common.Envelope.deserializeBinary(bytes));
  return envelope ? envelope.getPayload_asU8().length + envelope.getSignature_asU8().length : bytes.length;
}

/**
 * What the endorser itself put into an endorser transaction's payload (Transaction → one TransactionAction →
 * ChaincodeActionPayload → ChaincodeEndorsedAction → ProposalResponsePayload → ChaincodeAction): known without
 * decoding `data` again when the submitted payload is byte for byte the one it prepared.
 */
export interface EndorsedAction {
  /** ChaincodeAction.chaincode_id.name. */
  readonly chaincodeName: string;
  /** ChaincodeAction.results: the serialized TxReadWriteSet. */
  readonly results: Uint8Array;
  /**
   * `results` as the simulation made it, where it holds no collection (SimulationResult.rwsets): what decoding it
   * would give, not decoded again.
   */
  readonly rwsets?: readonly NamespaceRwset[];
  /** ChaincodeEndorsedAction.proposal_response_payload, whose hash of the proposal matches the headers. */
  readonly proposalResponsePayload: Uint8Array;
  readonly endorsements: readonly { readonly endorser: Uint8Array; readonly signature: Uint8Array }[];
  /**
   * Set by the ledger's own endorser only: the endorsements are its own signatures over exactly these bytes (the
   * submitted payload matched the one it prepared, byte for byte), so the committer validates the endorser's
   * identity but need not verify, nor hash, the signed megabytes again.
   */
  readonly signedHere?: true;
}

/**
 * An envelope's outer layers, every one of which parsed: what the orderer's admission reads, handed to the
 * committer beside the bytes so that a transaction's envelope is decoded once between Submit and commit.
 */
export interface DecodedEnvelope {
  /** Envelope.payload: what the creator signed. */
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  /** Payload.data. */
  readonly data: Uint8Array;
  readonly channelHeaderBytes: Uint8Array;
  readonly signatureHeaderBytes: Uint8Array;
  readonly type: number;
  readonly epoch: number;
  readonly txId: string;
  readonly channelId: string;
  readonly creator: Uint8Array;
  readonly nonce: Uint8Array;
  /** Set when the ledger's endorser prepared this very payload: the transaction's contents, undecoded. */
  readonly endorsed?: EndorsedAction;
  /**
   * Set by the orderer's admission once the creator's signature over `payload` verified: the committer validates
   * the creator's identity again (it may have expired or left the channel since) but not the signature.
   */
  readonly creatorSignatureVerified?: true;
}

/** Which layer did not parse; the txid when the channel header did. */
export type EnvelopeReading =
  | { readonly ok: true; readonly envelope: DecodedEnvelope }
  | { readonly ok: false; readonly layer: 'payload' | 'header'; readonly txId?: string };

/**
 * Envelope, Payload, Header, ChannelHeader and SignatureHeader, as the committer's first check reads them
 * (msgvalidation.go: a payload that does not parse is BAD_PAYLOAD, a header that does not is BAD_COMMON_HEADER).
 * `bytes` is attacker-controlled.
 */
export function readEnvelope(bytes: Uint8Array): EnvelopeReading {
  const envelope = parse(() => common.Envelope.deserializeBinary(bytes));
  const payload = envelope && parse(() => common.Payload.deserializeBinary(envelope.getPayload_asU8()));
  if (!envelope || !payload) return { ok: false, layer: 'payload' };
  const header = payload.getHeader();
  if (!header) return { ok: false, layer: 'header' };
  const channelHeaderBytes = header.getChannelHeader_asU8();
  const signatureHeaderBytes = header.getSignatureHeader_asU8();
  const channelHeader = parse(() => common.ChannelHeader.deserializeBinary(channelHeaderBytes));
  if (!channelHeader) return { ok: false, layer: 'header' };
  const signatureHeader = parse(() => common.SignatureHeader.deserializeBinary(signatureHeaderBytes));
  if (!signatureHeader) return { ok: false, layer: 'header', txId: channelHeader.getTxId() };
  return {
    ok: true,
    envelope: {
      payload: envelope.getPayload_asU8(),
      signature: envelope.getSignature_asU8(),
      data: payload.getData_asU8(),
      channelHeaderBytes,
      signatureHeaderBytes,
      type: channelHeader.getType(),
      epoch: channelHeader.getEpoch(),
      txId: channelHeader.getTxId(),
      channelId: channelHeader.getChannelId(),
      creator: signatureHeader.getCreator_asU8(),
      nonce: signatureHeader.getNonce_asU8(),
    },
  };
}

/** Throws when a layer does not parse or the payload has no header. `bytes` is attacker-controlled. */
export function decodeEnvelope(bytes: Uint8Array): DecodedEnvelope {
  const reading = readEnvelope(bytes);
  if (!reading.ok) throw new Error(`the envelope's ${reading.layer} does not parse`);
  return reading.envelope;
}

/** google-protobuf throws on malformed bytes. */
function parse<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}
