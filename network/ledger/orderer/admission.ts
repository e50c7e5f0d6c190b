/**
 * The orderer's Broadcast filters (orderer/common/msgprocessor/standardchannel.go): empty-message, size,
 * expiration and signature rules (`/Channel/Writers`: any member of a channel MSP whose signature over the
 * payload verifies). A refusal is ORDERER_REJECTED with Fabric's status text.
 */
import { common } from '@hyperledger/fabric-protos';
import { LedgerError } from '../errors.ts';
import type { IdentityVerifier } from '../types.ts';

export interface AdmissionOptions {
  readonly channelId: string;
  readonly msps: IdentityVerifier;
  /** Fabric's BatchSize.AbsoluteMaxBytes. */
  readonly absoluteMaxBytes: number;
}

export function admitEnvelope(envelopeBytes: Uint8Array, options: Readonly<AdmissionOptions>): void {
  const refuse = (status: string, info: string): never => {
    throw new LedgerError('ORDERER_REJECTED', `status=${status}, info=${info}`);
  };
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
  const check = options.msps.verifySignature(
    signatureHeader.getCreator_asU8(),
    envelope.getPayload_asU8(),
    envelope.getSignature_asU8(),
  );
  if (!check.ok)
    refuse('FORBIDDEN', `implicit policy evaluation failed - the creator is not a channel writer: ${check.reason}`);
}
