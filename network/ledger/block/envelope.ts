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
