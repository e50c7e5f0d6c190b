import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testUscc } from '../../test/support/chaincode-log.ts';
import { readCreditLeafIndexFields } from './credit-leaf.ts';
import { decodeRecord, setLeafIndex } from './record-codec.ts';
import { encodeRecord } from './test-record-oracles.ts';
import { batchDigest } from './test-record-oracles.ts';
import { latestId, recordId, recordKey } from './record-keys.ts';
import { PreparedBatch } from './prepared-batch.ts';
import type { ValidCreditRecord } from './record-validation.ts';

/** A deterministic pseudo-random source, so a failure can be replayed. */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % n;
  };
}

function randomRecords(random: (n: number) => number, count: number): ValidCreditRecord[] {
  const kinds = ['loan', 'x', 'credit_card_2', 'a'.repeat(32)];
  const types = ['application/json', 'a', 'text/plain;charset=utf-8', '!'.repeat(100)];
  const versions = [1, 2, 9, 10, 12_345, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER];
  return Array.from({ length: count }, (_, i) => ({
    subject: testUscc(random(1_000_000) + i),
    kind: kinds[random(kinds.length)] as string,
    version: versions[random(versions.length)] as number,
    contentType: types[random(types.length)] as string,
    content: Buffer.from(Array.from({ length: 1 + random(300) }, () => random(256))),
  }));
}

describe('PreparedBatch', () => {
  it('holds each record key, stored value, digest and leaf exactly as the per-record encoders give them', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = seeded(seed);
      const records = randomRecords(random, 1 + random(40));
      const batch = new PreparedBatch(`req-${seed}`, records, 'HangzhouCreditMSP', 1_795_000_000_000 + seed);
      expect(batch.count).toBe(records.length);
      records.forEach((record, i) => {
        const { subject, kind, version, contentType, content } = record;
        const digest = createHash('sha256').update(content).digest();
        expect(batch.key(i)).toEqual(recordKey(subject, kind, version));
        expect(batch.id(i)).toBe(recordId(subject, kind, version));
        expect(batch.latestId(i)).toBe(latestId(subject, kind));
        expect(batch.version(i)).toBe(version);
        expect(batch.digestOf(i)).toEqual(digest);
        expect(batch.digestEquals(i, digest)).toBe(true);
        // The value in its format (test-record-oracles.ts), leaf index still to be set; setting it touches that
        // record alone.
        const expected = encodeRecord(contentType, content);
        const value = batch.value(i);
        expect(value.subarray(9)).toEqual(expected.subarray(9));
        setLeafIndex(value, 2 ** 40 + i);
        expect(decodeRecord(batch.value(i))).toEqual({ leafIndex: 2 ** 40 + i, digest, contentType, content });
        expect(readCreditLeafIndexFields(batch.leaf(i))).toEqual({ subject, kind, recordDigest: digest });
      });
      const ids = records.map((r) => recordId(r.subject, r.kind, r.version));
      const digests = records.map((r) => createHash('sha256').update(r.content).digest());
      expect(batch.digest).toEqual(
        batchDigest(
          records.map((r, i) => ({ id: ids[i] as string, contentType: r.contentType, digest: digests[i] as Buffer })),
        ),
      );
    }
  });

  it('tells records with the same content digest from others, within a batch and across two', () => {
    const content = Buffer.from('{"same":true}');
    const base = { kind: 'loan', version: 1, contentType: 'application/json' };
    const a = new PreparedBatch(
      'a',
      [
        { ...base, subject: testUscc(1), content },
        { ...base, subject: testUscc(2), content: Buffer.from('{"same":false}') },
      ],
      'HangzhouCreditMSP',
      1,
    );
    const b = new PreparedBatch('b', [{ ...base, subject: testUscc(3), content }], 'HangzhouCreditMSP', 2);
    expect(a.sameDigest(0, b, 0)).toBe(true);
    expect(a.sameDigest(1, b, 0)).toBe(false);
    expect(a.sameDigest(0, a, 1)).toBe(false);
    expect(a.digestEquals(1, b.digestOf(0))).toBe(false);
  });
});
