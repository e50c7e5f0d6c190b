import { gateway, peer } from '@hyperledger/fabric-protos';
import { describe, expect, it } from 'vitest';
import { encodeChaincodeEventsResponse } from './chaincode-events-response.ts';
import { GRPC_FRAME_HEADER_BYTES } from './shared-frames.ts';

function event(chaincodeId: string, txId: string, name: string, payload: Uint8Array): peer.ChaincodeEvent {
  const e = new peer.ChaincodeEvent();
  e.setChaincodeId(chaincodeId);
  e.setTxId(txId);
  e.setEventName(name);
  e.setPayload(payload);
  return e;
}

describe('encodeChaincodeEventsResponse', () => {
  it("writes google-protobuf's bytes for the same response", () => {
    const large = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const cases: [number, peer.ChaincodeEvent[]][] = [
      [0, []],
      [1, [event('lianxin', 'a'.repeat(64), 'Anchored', large)]],
      [2 ** 40 + 3, [event('cc', 'tx1', '创建 created', new Uint8Array()), event('cc', 'tx2', 'E', Uint8Array.of(0))]],
      [127, [event('', '', '', new Uint8Array())]],
    ];
    for (const [blockNumber, events] of cases) {
      const expected = new gateway.ChaincodeEventsResponse();
      expected.setBlockNumber(blockNumber);
      expected.setEventsList(events);
      const written = encodeChaincodeEventsResponse(blockNumber, events);
      expect(Buffer.from(written).equals(Buffer.from(expected.serializeBinary())), String(blockNumber)).toBe(true);
      // Written inside its gRPC frame (shared-frames.ts): flag 0, then the length.
      const header = Buffer.from(written.buffer, written.byteOffset - GRPC_FRAME_HEADER_BYTES, GRPC_FRAME_HEADER_BYTES);
      expect([header.readUInt8(0), header.readUInt32BE(1)]).toEqual([0, written.length]);
    }
  });
});
