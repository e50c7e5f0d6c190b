import { common } from '@hyperledger/fabric-protos';

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
 * An envelope's outer layers, every one of which parsed: what the orderer's admission reads, handed to the
 * committer beside the bytes so that a transaction's envelope is decoded once between Submit and commit.
 */
export interface DecodedEnvelope {
  readonly envelope: common.Envelope;
  readonly payload: common.Payload;
  readonly header: common.Header;
  readonly channelHeader: common.ChannelHeader;
  readonly signatureHeader: common.SignatureHeader;
}

/** Throws when a layer does not parse or the payload has no header. `bytes` is attacker-controlled. */
export function decodeEnvelope(bytes: Uint8Array): DecodedEnvelope {
  const envelope = common.Envelope.deserializeBinary(bytes);
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const header = payload.getHeader();
  if (!header) throw new Error('missing header');
  return {
    envelope,
    payload,
    header,
    channelHeader: common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8()),
    signatureHeader: common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8()),
  };
}
