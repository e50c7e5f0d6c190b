import { describe, expect, it } from 'vitest';
import { decodeAck, decodeRecord, encodeAck, encodeRecord, setLeafIndex, storedDigest } from './record-codec.ts';

const digest = Buffer.alloc(32, 0xab);

describe('record values', () => {
  it('round-trip a record with any leaf index up to 2^53 - 1', () => {
    for (const leafIndex of [0, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
      const stored = encodeRecord(digest, 'application/json', Buffer.from('{"a":1}'));
      setLeafIndex(stored, leafIndex);
      expect(decodeRecord(stored)).toEqual({
        leafIndex,
        digest,
        contentType: 'application/json',
        content: Buffer.from('{"a":1}'),
      });
      expect(storedDigest(stored)).toEqual(digest);
    }
  });

  it('round-trip an acknowledgement exactly', () => {
    const results = [
      { outcome: 'OUTCOME_ACCEPTED' as const, leafIndex: 2 ** 33 + 1, recordDigest: digest },
      { outcome: 'OUTCOME_DUPLICATE' as const, leafIndex: 7, recordDigest: Buffer.alloc(32, 1) },
    ];
    expect(decodeAck('r-1', encodeAck(results))).toEqual({ requestId: 'r-1', results });
  });

  it('refuses values in another format as CORRUPT', () => {
    expect(() => decodeRecord(Buffer.from('{"leafIndex":1}'))).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    expect(() => decodeAck('r', Buffer.from([1, 9]))).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });
});
