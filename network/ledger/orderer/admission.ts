/**
 * The orderer's Broadcast filters (orderer/common/msgprocessor/standardchannel.go): empty-message, size,
 * expiration and signature rules (`/Channel/Writers`: any member of a channel MSP whose signature over the
 * payload verifies). A refusal is ORDERER_REJECTED with Fabric's status text.
 */
import { common } from '@hyperledger/fabric-protos';
import { LedgerError } from '../errors.ts';
import type { IdentityCheck, IdentityVerifier } from '../types.ts';

export interface AdmissionOptions {
  readonly channelId: string;
  readonly msps: IdentityVerifier;
  /** Fabric's BatchSize.AbsoluteMaxBytes. */
  readonly absoluteMaxBytes: number;
}

const refuse = (status: string, info: string): never => {
  throw new LedgerError('ORDERER_REJECTED', `status=${status}, info=${info}`);
};

/** Broadcast's admission: refuses, by throwing ORDERER_REJECTED, what the filters refuse. */
export function admitEnvelope(envelopeBytes: Uint8Array, options: Readonly<AdmissionOptions>): void {
  const signed = checkEnvelope(envelopeBytes, options);
  refuseUnlessWriter(options.msps.verifySignature(signed.creator, signed.payload, signed.signature));
}

/** {@link admitEnvelope} with the signature verified on libuv's thread pool (the gateway's Submit). */
export async function admitEnvelopeAsync(envelopeBytes: Uint8Array, options: Readonly<AdmissionOptions>): Promise<void> {
  const signed = checkEnvelope(envelopeBytes, options);
  refuseUnlessWriter(await options.msps.verifySignatureAsync(signed.creator, signed.payload, signed.signature));
}

function refuseUnlessWriter(check: IdentityCheck): void {
  if (!check.ok)
    refuse('FORBIDDEN', `implicit policy evaluation failed - the creator is not a channel writer: ${check.reason}`);
}

/** Every filter but the signature's; returns what the signature check needs. */
function checkEnvelope(
  envelopeBytes: Uint8Array,
  options: Readonly<AdmissionOptions>,
): { readonly creator: Uint8Array; readonly payload: Uint8Array; readonly signature: Uint8Array } {
  if (envelopeBytes.length === 0) refuse('BAD_REQUEST', 'message was empty');
  if (envelopeBytes.length > options.absoluteMaxBytes) {
    refuse(
      'BAD_REQUEST',
      `message payload is ${envelopeBytes.length} bytes and exceeds maximum allowed ${options.absoluteMaxBytes} bytes`,
    );
  }
  let envelope: common.Envelope;
  let channelHeader: common.ChannelHeader;
  let signatureHeader: common.SignatureHeader;
  try {
    envelope = common.Envelope.deserializeBinary(envelopeBytes);
    const header = common.Payload.deserializeBinary(envelope.getPayload_asU8()).getHeader();
    if (!header) throw new Error('missing header');
    channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
  } catch {
    return refuse('BAD_REQUEST', 'bad payload: envelope, payload or header could not be parsed');
  }
  if (channelHeader.getChannelId() !== options.channelId) {
    refuse('NOT_FOUND', `channel ${channelHeader.getChannelId()} not found`);
  }
  if (channelHeader.getType() !== common.HeaderType.ENDORSER_TRANSACTION) {
    refuse('BAD_REQUEST', `message of type ${channelHeader.getType()} is not an endorser transaction`);
  }
  return {
    creator: signatureHeader.getCreator_asU8(),
    payload: envelope.getPayload_asU8(),
    signature: envelope.getSignature_asU8(),
  };
}
