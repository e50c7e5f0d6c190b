import { describe, expect, it } from 'vitest';
import { prng } from '../log/test-log.ts';
import { decodeLogLeaf, encodeLogLeaf } from '../receipts/index.ts';
import { testUscc } from '../../test/support/chaincode-log.ts';
import { LEAF_VERSION, readCreditLeafIndexFields, type CreditLeafFields } from './credit-leaf.ts';
import { encodeCreditLeaves } from './test-record-oracles.ts';

const printable = (random: (below: number) => number, length: number) =>
  Array.from({ length }, () => String.fromCharCode(0x21 + random(0x7e - 0x21 + 1))).join('');

describe('credit record leaves', () => {
  it('are byte for byte the protobufjs serialization of the same LogLeaf, over random fields', () => {
    const random = prng(9162);
    for (let round = 0; round < 50; round++) {
      const records: CreditLeafFields[] = Array.from({ length: 1 + random(20) }, () => ({
        subject: testUscc(random(1e9)),
        kind: `k${'_0a'.repeat(random(11))}`,
        // Every varint width up to 2^53 - 1.
        version: Math.min(Number.MAX_SAFE_INTEGER, 1 + Math.floor(2 ** random(54) * (1 + random(1000)))),
        digest: Buffer.from(Array.from({ length: 32 }, () => random(256))),
        contentType: printable(random, 1 + random(127)),
      }));
      const org = ['HangzhouCreditMSP', 'A', 'x'.repeat(64 + random(200))][random(3)] ?? 'A';
      const appendedAtMs = [1, 127, 128, 1_795_000_000_000, Number.MAX_SAFE_INTEGER][random(5)] ?? 1;
      const leaves = encodeCreditLeaves(org, appendedAtMs, records);
      expect(leaves).toHaveLength(records.length);
      leaves.forEach((leaf, i) => {
        const record = records[i];
        if (record === undefined) throw new Error('unreachable');
        const nonce = decodeLogLeaf(leaf).nonce;
        const expected = encodeLogLeaf({
          version: LEAF_VERSION,
          org,
          appendedAtMs,
          nonce,
          creditRecord: {
            subject: record.subject,
            kind: record.kind,
            recordVersion: record.version,
            recordDigest: Buffer.from(record.digest),
            contentType: record.contentType,
          },
        });
        expect(Buffer.from(leaf).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
      });
    }
  });

  it('gives each leaf its own 128-bit nonce', () => {
    const record = {
      subject: testUscc(1),
      kind: 'loan',
      version: 1,
      digest: Buffer.alloc(32),
      contentType: 'application/json',
    };
    const nonces = encodeCreditLeaves('HangzhouCreditMSP', Date.now(), Array(100).fill(record)).map((leaf) =>
      decodeLogLeaf(leaf).nonce.toString('hex'),
    );
    expect(nonces.every((nonce) => nonce.length === 32)).toBe(true);
    expect(new Set(nonces).size).toBe(100);
  });

  it('are read in place, subject, kind and digest, exactly as protobufjs reads them', () => {
    const random = prng(6962);
    for (let round = 0; round < 200; round++) {
      const record = {
        subject: testUscc(random(1e9)),
        kind: `k${'_0a'.repeat(random(11))}`,
        version: 1 + Math.floor(2 ** random(54)),
        digest: Buffer.from(Array.from({ length: 32 }, () => random(256))),
        contentType: printable(random, 1 + random(40)),
      };
      const org = ['HangzhouCreditMSP', 'A', 'x'.repeat(1 + random(120))][random(3)] ?? 'A';
      const [leaf] = encodeCreditLeaves(org, 1 + random(2 ** 40), [record]);
      if (leaf === undefined) throw new Error('unreachable');
      const decoded = decodeLogLeaf(leaf).creditRecord;
      expect(readCreditLeafIndexFields(leaf)).toEqual({
        subject: decoded?.subject,
        kind: decoded?.kind,
        recordDigest: Buffer.from(decoded?.recordDigest ?? []),
      });
    }
  });

  it('are read in place only when protobufjs reads the same: other entries, cut, extended or altered bytes', () => {
    const random = prng(1962);
    const record = {
      subject: testUscc(7),
      kind: 'loan',
      version: 3,
      digest: Buffer.alloc(32, 9),
      contentType: 'application/json',
    };
    const [leaf] = encodeCreditLeaves('HangzhouCreditMSP', 1_795_000_000_000, [record]);
    if (leaf === undefined) throw new Error('unreachable');
    const contract = encodeLogLeaf({
      version: 1,
      org: 'PlatformMSP',
      appendedAtMs: 1,
      nonce: Buffer.alloc(16),
      contract: { documentDigest: Buffer.alloc(32, 1), parties: [testUscc(1)] },
    });
    expect(readCreditLeafIndexFields(Buffer.from(contract))).toBeUndefined();
    expect(readCreditLeafIndexFields(leaf.subarray(0, leaf.length - 1))).toBeUndefined();
    expect(readCreditLeafIndexFields(Buffer.concat([leaf, Buffer.from([0x08, 0x01])]))).toBeUndefined();
    let accepted = 0;
    for (let round = 0; round < 3_000; round++) {
      const altered = Buffer.from(leaf);
      for (let n = 1 + random(2); n > 0; n--) altered[random(altered.length)] = random(256);
      const fast = readCreditLeafIndexFields(altered);
      if (fast === undefined) continue;
      accepted++;
      const decoded = decodeLogLeaf(altered).creditRecord;
      expect(fast).toEqual({
        subject: decoded?.subject,
        kind: decoded?.kind,
        recordDigest: Buffer.from(decoded?.recordDigest ?? []),
      });
    }
    // Changes to the nonce, the digest, the time and the strings' ASCII bytes keep the layout.
    expect(accepted).toBeGreaterThan(1_000);
  });
});
