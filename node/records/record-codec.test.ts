import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeAck,
  decodeRecord,
  setLeafIndex,
  holdsContent,
  sameContentType,
  storedContent,
  storedLeafIndex,
} from './record-codec.ts';
import { batchDigest, encodeAck, encodeRecord } from './test-record-oracles.ts';

const digest = Buffer.alloc(32, 0xab);

describe('record values', () => {
  it("round-trip a record with any leaf index up to 2^53 - 1, its digest the content's SHA-256, not stored", () => {
    const content = Buffer.from('{"a":1}');
    const contentDigest = createHash('sha256').update(content).digest();
    for (const leafIndex of [0, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
      const stored = encodeRecord('application/json', content);
      setLeafIndex(stored, leafIndex);
      // Format, leaf index, content type's length and bytes, content: nothing else.
      expect(stored).toHaveLength(1 + 8 + 1 + 'application/json'.length + content.length);
      expect(stored[0]).toBe(2);
      expect(decodeRecord(stored)).toEqual({
        leafIndex,
        digest: contentDigest,
        contentType: 'application/json',
        content,
      });
      expect(storedLeafIndex(stored)).toBe(leafIndex);
      expect(storedContent(stored)).toEqual(content);
      expect(sameContentType(stored, encodeRecord('application/json', Buffer.from('other')))).toBe(true);
      expect(sameContentType(stored, encodeRecord('application/jsox', content))).toBe(false);
      expect(sameContentType(stored, encodeRecord('text/plain', content))).toBe(false);
      // Format 2 compares the content itself: the digest argument is not what decides.
      expect(holdsContent(stored, digest, content)).toBe(true);
      expect(holdsContent(stored, contentDigest, Buffer.from('{"a":2}'))).toBe(false);
    }
  });

  it('reads a record stored in format 1, its digest as stored', () => {
    const content = Buffer.from('{"a":1}');
    const leafIndex = 2 ** 40 + 5;
    const index = Buffer.alloc(8);
    index.writeUInt32BE(Math.floor(leafIndex / 2 ** 32), 0);
    index.writeUInt32BE(leafIndex % 2 ** 32, 4);
    // 0x01 ‖ u64 BE leaf index ‖ digest(32) ‖ u8 n ‖ content type ‖ content, as an earlier version wrote it.
    const stored = Buffer.concat([
      Buffer.from([1]),
      index,
      digest,
      Buffer.from([16]),
      Buffer.from('application/json'),
      content,
    ]);
    expect(decodeRecord(stored)).toEqual({ leafIndex, digest, contentType: 'application/json', content });
    expect(storedLeafIndex(stored)).toBe(leafIndex);
    expect(storedContent(stored)).toEqual(content);
    expect(sameContentType(stored, encodeRecord('application/json', content))).toBe(true);
    expect(sameContentType(encodeRecord('application/xml', content), stored)).toBe(false);
    // Format 1 compares the stored digest (here not the content's SHA-256, so the stored one is what decides).
    expect(holdsContent(stored, digest, Buffer.from('other'))).toBe(true);
    expect(holdsContent(stored, createHash('sha256').update(content).digest(), content)).toBe(false);
  });

  it('refuses a stored record that is not one, naming what is wrong', () => {
    const stored = encodeRecord('application/json', Buffer.from('{}'));
    expect(() => decodeRecord(Buffer.from([7, ...stored.subarray(1)]))).toThrow(/format byte 7 is neither 2 nor 1/);
    expect(() => storedContent(stored.subarray(0, 12))).toThrow(/content type \(16 bytes after byte 9\) runs past/);
    expect(() => storedLeafIndex(Buffer.concat([Buffer.from([1]), Buffer.alloc(20)]))).toThrow(
      /in format 1 is cut short \(21 bytes\)/,
    );
  });

  it('round-trip an acknowledgement exactly, its digests supplied by the batch it answers', () => {
    const results = [
      { outcome: 'OUTCOME_ACCEPTED' as const, leafIndex: 2 ** 33 + 1, recordDigest: digest },
      { outcome: 'OUTCOME_ACCEPTED' as const, leafIndex: 2 ** 33 + 2, recordDigest: Buffer.alloc(32, 2) },
      { outcome: 'OUTCOME_DUPLICATE' as const, leafIndex: 2 ** 33 + 3, recordDigest: Buffer.alloc(32, 3) },
      { outcome: 'OUTCOME_DUPLICATE' as const, leafIndex: 7, recordDigest: Buffer.alloc(32, 1) },
      { outcome: 'OUTCOME_DUPLICATE' as const, leafIndex: 8, recordDigest: Buffer.alloc(32, 4) },
      { outcome: 'OUTCOME_ACCEPTED' as const, leafIndex: 2 ** 33 + 5, recordDigest: Buffer.alloc(32, 5) },
      { outcome: 'OUTCOME_ACCEPTED' as const, leafIndex: 0, recordDigest: Buffer.alloc(32, 6) },
    ];
    const bound = Buffer.alloc(32, 0xcd);
    const stored = decodeAck('r-1', encodeAck(results, bound));
    expect(stored.batchDigest).toEqual(bound);
    expect(stored.ack(results.map((r) => r.recordDigest))).toEqual({ requestId: 'r-1', results });
  });

  it('stores a batch of consecutive accepted leaves in 46 bytes, whatever its size', () => {
    const results = Array.from({ length: 1000 }, (_, i) => ({
      outcome: 'OUTCOME_ACCEPTED' as const,
      leafIndex: 5_000 + i,
      recordDigest: digest,
    }));
    const stored = encodeAck(results, digest);
    // 41 bytes a record before (each result's digest again): 41,033 for this batch.
    expect(stored.length).toBe(46);
    expect(decodeAck('bulk', stored).ack(results.map((r) => r.recordDigest))).toEqual({ requestId: 'bulk', results });
  });

  it('reads an acknowledgement stored with a digest per result (format 2)', () => {
    // 0x02 ‖ batch digest ‖ per result: outcome ‖ u64 leaf index ‖ digest, as written before runs.
    const bound = Buffer.alloc(32, 0xcd);
    const old = Buffer.concat([
      Buffer.from([2]),
      bound,
      Buffer.from([1, 0, 0, 0, 2, 0, 0, 0, 1]),
      digest,
      Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 7]),
      Buffer.alloc(32, 1),
    ]);
    const stored = decodeAck('r-2', old);
    expect(stored.batchDigest).toEqual(bound);
    expect(stored.ack([])).toEqual({
      requestId: 'r-2',
      results: [
        { outcome: 'OUTCOME_ACCEPTED', leafIndex: 2 ** 33 + 1, recordDigest: digest },
        { outcome: 'OUTCOME_DUPLICATE', leafIndex: 7, recordDigest: Buffer.alloc(32, 1) },
      ],
    });
  });

  it('reads an acknowledgement stored before request IDs were bound, without a batch digest', () => {
    // Format 1, as written before: 0x01 ‖ outcome ‖ u64 leaf index ‖ digest.
    const old = Buffer.concat([Buffer.from([1, 1]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 7]), digest]);
    const stored = decodeAck('r-0', old);
    expect(stored.batchDigest).toBeUndefined();
    expect(stored.ack([])).toEqual({
      requestId: 'r-0',
      results: [{ outcome: 'OUTCOME_ACCEPTED', leafIndex: 7, recordDigest: digest }],
    });
  });

  it('binds a batch digest to every field of every record, in order', () => {
    const a = { id: 'r\u0000S\u0000loan\u00001', contentType: 'application/json', digest };
    const base = batchDigest([a]);
    expect(batchDigest([a])).toEqual(base);
    expect(batchDigest([{ ...a, id: 'r\u0000S\u0000loan\u00002' }])).not.toEqual(base);
    expect(batchDigest([{ ...a, contentType: 'text/csv' }])).not.toEqual(base);
    expect(batchDigest([{ ...a, digest: Buffer.alloc(32, 1) }])).not.toEqual(base);
    expect(batchDigest([a, a])).not.toEqual(base);
  });

  it('is SHA-256 over each record as key ‖ 0x00 ‖ content type ‖ 0x00 ‖ digest, as stored acknowledgements were bound', () => {
    // The definition, hashed field by field: acknowledgements already stored were bound to exactly this value.
    const records = Array.from({ length: 300 }, (_, i) => ({
      id: `r\u000091330100MA${String(i).padStart(8, '0')}\u0000loan\u0000${String(i + 1).padStart(20, '0')}`,
      contentType: i % 2 === 0 ? 'application/json' : `text/x-${'v'.repeat(i % 120)}`,
      digest: createHash('sha256').update(String(i)).digest(),
    }));
    const reference = createHash('sha256');
    for (const { id, contentType, digest: d } of records) {
      reference.update(`${id}\u0000${contentType}\u0000`, 'latin1');
      reference.update(d);
    }
    expect(batchDigest(records).toString('hex')).toBe(reference.digest('hex'));
  });

  it('refuses values in another format as CORRUPT', () => {
    expect(() => decodeRecord(Buffer.from('{"leafIndex":1}'))).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    // A known format cut short of its content type.
    expect(() => decodeRecord(Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 1, 16, 0x61]))).toThrow(
      expect.objectContaining({ code: 'CORRUPT' }),
    );
    expect(() => decodeAck('r', Buffer.from([2, 9]))).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });

  it('refuses a damaged acknowledgement as CORRUPT: a cut run, an unknown outcome, an empty run, a count not the batch', () => {
    const run = (outcome: number, first: number, count: number) => {
      const bytes = Buffer.alloc(13);
      bytes[0] = outcome;
      bytes.writeUInt32BE(first, 5);
      bytes.writeUInt32BE(count, 9);
      return bytes;
    };
    const corrupt = expect.objectContaining({ code: 'CORRUPT' }) as unknown;
    const head = Buffer.concat([Buffer.from([3]), digest]);
    expect(() => decodeAck('r', Buffer.concat([head, run(1, 0, 2)]).subarray(0, 40))).toThrow(corrupt);
    expect(() => decodeAck('r', Buffer.concat([head, run(3, 0, 2)]))).toThrow(corrupt);
    expect(() => decodeAck('r', Buffer.concat([head, run(1, 0, 0)]))).toThrow(corrupt);
    const stored = decodeAck('r', Buffer.concat([head, run(1, 0, 2), run(2, 9, 1)]));
    expect(() => stored.ack([digest, digest])).toThrow(corrupt);
    expect(stored.ack([digest, digest, digest]).results).toHaveLength(3);
  });
});
