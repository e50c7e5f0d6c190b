/**
 * gateway.ChaincodeEventsResponse, written with the ledger's protobuf-wire writer: the answer every follower's
 * ChaincodeEvents stream gets for a block. An Anchored event carries the anchor's index entries (≈ 0.9 MB for
 * 10,000), and google-protobuf's BinaryWriter gathered it in pieces before copying it out (2.5 ms of the ledger's
 * CPU per 10,000-entry anchor in a consortium bulk load: bench/RESULTS.md, issue 13: ledger5). Same bytes as
 * google-protobuf's serializeBinary of the same response (tested).
 */
import type { peer } from '@hyperledger/fabric-protos';
import { bytesField, messageField, stringField, uint64Field } from '../block/protobuf-wire.ts';
import { encodeInSharedFrame } from './shared-frames.ts';

/**
 * ChaincodeEventsResponse{events = 1, block_number = 2}; ChaincodeEvent{chaincode_id, tx_id, event_name, payload}.
 * Written inside its gRPC frame, which every stream it is sent on shares (shared-frames.ts).
 */
export function encodeChaincodeEventsResponse(blockNumber: number, events: readonly peer.ChaincodeEvent[]): Buffer {
  return encodeInSharedFrame([
    ...events.map((event) =>
      messageField(
        1,
        stringField(1, event.getChaincodeId()),
        stringField(2, event.getTxId()),
        stringField(3, event.getEventName()),
        bytesField(4, event.getPayload_asU8()),
      ),
    ),
    uint64Field(2, blockNumber),
  ]);
}
