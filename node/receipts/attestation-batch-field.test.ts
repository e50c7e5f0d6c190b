import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { batchFieldLength, writeBatchField, type BatchFieldValues } from './attestation-batch-field.ts';
import { encodeAttestationTail } from './attestation-codec.ts';

/** protobufjs's encoding is the reference: the verifier refuses a batch field that differs from it. */
const expectSameBytes = (batch: BatchFieldValues) => {
  const out = Buffer.alloc(batchFieldLength(batch) + 3, 0xee);
  const end = writeBatchField(out, 1, batch);
  expect(end).toBe(1 + batchFieldLength(batch));
  expect(out.subarray(1, end).toString('hex')).toBe(
    Buffer.from(encodeAttestationTail({ batch: { ...batch, path: [...batch.path] } })).toString('hex'),
  );
  // Nothing written outside its bytes.
  expect([out[0], out[end], out[end + 1]]).toEqual([0xee, 0xee, 0xee]);
};

describe('writeBatchField', () => {
  it('writes the bytes protobufjs writes, for every place in batches of 1 to 300 answers', () => {
    for (const size of [1, 2, 3, 16, 17, 64, 127, 128, 129, 256, 300]) {
      const depth = Math.ceil(Math.log2(size));
      for (const index of new Set([0, 1, size >> 1, size - 2, size - 1].filter((i) => i >= 0 && i < size))) {
        const path = Array.from({ length: depth }, () => randomBytes(32));
        expectSameBytes({ index, size, root: randomBytes(32), path });
      }
    }
  });

  it('writes an index and a size of 0, an empty root and a path of one, as protobufjs does', () => {
    expectSameBytes({ index: 0, size: 0, root: Buffer.alloc(0), path: [] });
    expectSameBytes({ index: 0, size: 1, root: randomBytes(32), path: [Buffer.alloc(0)] });
  });

  it('writes lengths and values that take several varint bytes', () => {
    expectSameBytes({ index: 2 ** 32 - 1, size: 2 ** 32 - 1, root: randomBytes(300), path: [randomBytes(200)] });
  });

  it('refuses an index or size that protobufjs would truncate to 32 bits', () => {
    const root = randomBytes(32);
    for (const batch of [
      { index: 2 ** 32, size: 1, root, path: [] },
      { index: 0, size: -1, root, path: [] },
      { index: 0.5, size: 1, root, path: [] },
    ]) {
      expect(() => writeBatchField(Buffer.alloc(100), 0, batch)).toThrow(RangeError);
    }
  });
});
