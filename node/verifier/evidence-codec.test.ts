import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeAttestation } from './evidence-codec.ts';

const golden = new Uint8Array(
  readFileSync(new URL('../receipts/testdata/credit-record-attestation.v1.binpb', import.meta.url)),
);

/** Offset of the top-level signature field (field 9, wire type 2: tag 0x4a), the last field of the signer's bytes. */
function signatureTagOffset(bytes: Uint8Array): number {
  const at = decodeAttestation(bytes).unsigned?.length ?? -1;
  expect(bytes[at]).toBe(0x4a);
  return at;
}

describe('decodeAttestation', () => {
  it('cuts out exactly the signature field of canonical bytes', () => {
    const { unsigned } = decodeAttestation(golden);
    expect(unsigned).toEqual(golden.subarray(0, 668)); // the golden file's signature field starts at byte 668
  });

  it('refuses a signature whose kid is re-encoded with another wire type, which would make a second valid file', () => {
    const at = signatureTagOffset(golden) + 3; // tag, two-byte length, then NodeSignature.kid's tag (field 1: 0x0a)
    expect(golden[at]).toBe(0x0a);
    const tampered = Uint8Array.from(golden);
    tampered[at] = 0x0b; // field 1 as a start-group: protobufjs reads the same kid, the signature does not cover it
    expect(() => decodeAttestation(tampered)).toThrow(expect.objectContaining({ code: 'MALFORMED_ATTESTATION' }));
  });

  it('refuses a signature field whose length varint is padded', () => {
    const at = signatureTagOffset(golden);
    // The length is a two-byte varint (the field is 128..16383 bytes); the same value written in three bytes.
    expect([(golden[at + 1] ?? 0) & 0x80, (golden[at + 2] ?? 0) & 0x80]).toEqual([0x80, 0]);
    const tampered = new Uint8Array(golden.length + 1);
    tampered.set(golden.subarray(0, at + 2));
    tampered[at + 2] = (golden[at + 2] ?? 0) | 0x80;
    tampered[at + 3] = 0;
    tampered.set(golden.subarray(at + 3), at + 4);
    expect(() => decodeAttestation(tampered)).toThrow(
      expect.objectContaining({ code: 'MALFORMED_ATTESTATION', field: 'signature' }),
    );
  });

  it('refuses a v2 batch field whose index varint is padded, which would make a second valid file', () => {
    const v2 = new Uint8Array(
      readFileSync(new URL('../receipts/testdata/credit-record-attestation.v2.binpb', import.meta.url)),
    );
    // The signer writes the batch (field 10, wire type 2: tag 0x52) last: tag, one-byte length, then index (0x08 0x01).
    const at = v2.lastIndexOf(0x52, v2.length - 100);
    expect([v2[at + 1], v2[at + 2], v2[at + 3]]).toEqual([v2.length - at - 2, 0x08, 0x01]);
    const tampered = new Uint8Array(v2.length + 1);
    tampered.set(v2.subarray(0, at));
    tampered.set([0x52, v2.length - at - 1, 0x08, 0x81, 0x00], at); // index 1 as a two-byte varint
    tampered.set(v2.subarray(at + 4), at + 5);
    expect(decodeAttestation(v2).attestation.batch?.index).toBe(1);
    expect(() => decodeAttestation(tampered)).toThrow(
      expect.objectContaining({ code: 'MALFORMED_ATTESTATION', field: 'batch' }),
    );
  });
});
