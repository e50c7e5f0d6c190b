import { common } from '@hyperledger/fabric-protos';
import { describe, expect, it } from 'vitest';
import { envelopeMessageBytes } from './envelope.ts';

const envelope = (payload: number, signature: number): Uint8Array => {
  const e = new common.Envelope();
  e.setPayload(new Uint8Array(payload).fill(7));
  e.setSignature(new Uint8Array(signature).fill(9));
  return e.serializeBinary();
};

describe('envelopeMessageBytes (Fabric sizefilter.go messageByteSize)', () => {
  it("is the payload's and the signature's lengths, not the envelope's", () => {
    const bytes = envelope(300, 71);
    expect(bytes.length).toBe(300 + 71 + 2 + 3);
    expect(envelopeMessageBytes(bytes)).toBe(371);
    expect(envelopeMessageBytes(envelope(0, 0))).toBe(0);
    expect(envelopeMessageBytes(envelope(5, 0))).toBe(5);
  });

  it('reads what google-protobuf reads: unknown fields ignored, the last of a repeated field', () => {
    const withUnknown = Buffer.concat([envelope(10, 4), Buffer.from([0x1a, 0x03, 1, 2, 3, 0x20, 0x05])]);
    expect(envelopeMessageBytes(withUnknown)).toBe(14);
    const repeated = Buffer.concat([envelope(10, 4), envelope(20, 0)]);
    const decoded = common.Envelope.deserializeBinary(repeated);
    expect(envelopeMessageBytes(repeated)).toBe(decoded.getPayload_asU8().length + decoded.getSignature_asU8().length);
    expect(envelopeMessageBytes(repeated)).toBe(24);
  });

  it('counts an envelope that does not parse whole', () => {
    const truncated = envelope(100, 10).subarray(0, 50);
    expect(envelopeMessageBytes(truncated)).toBe(50);
  });
});
