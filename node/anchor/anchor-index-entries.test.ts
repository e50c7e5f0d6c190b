import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeIndexEntries,
  hashLeaf,
  IndexEntriesWriter,
  type IndexEntriesView,
  type IndexEntry,
} from '../../chaincode/src/protocol.ts';
import { testUscc } from '../../test/support/chaincode-log.ts';
import { newLogKey, openTestDatabase, ORIGIN, prng, type TestDatabase } from '../log/test-log.ts';
import { openTransparencyLog, p256LogSigner, type TransparencyLog } from '../log/index.ts';
import { decodeLogLeaf, encodeLogLeaf } from '../receipts/index.ts';
import type { CreditLeafFields } from '../records/credit-leaf.ts';
import { encodeCreditLeaves } from '../records/test-record-oracles.ts';
import { anchorIndexEntries } from './anchor-index-entries.ts';

const concatBytes = (leaf: Uint8Array, tail: readonly number[]) => Buffer.concat([leaf, Buffer.from(tail)]);

/**
 * What the chain must receive for leaves [from, to), computed independently of the code under test: every leaf
 * decoded by protobufjs, its hash computed by the chaincode's RFC 9162 leaf hash, encoded by the object encoder.
 */
function expectedEntries(leaves: readonly Uint8Array[], from: number, to: number): Buffer {
  const entries: IndexEntry[] = [];
  for (let index = from; index < to; index++) {
    const leaf = leaves[index] ?? new Uint8Array();
    const record = decodeLogLeaf(leaf).creditRecord;
    if (!record) continue;
    entries.push({
      leafIndex: index,
      leafHash: Buffer.from(hashLeaf(leaf)).toString('hex'),
      subject: record.subject,
      kind: record.kind,
      recordDigest: Buffer.from(record.recordDigest).toString('hex'),
    });
  }
  return encodeIndexEntries(entries);
}

describe('anchorIndexEntries', () => {
  let testDb: TestDatabase;
  let log: TransparencyLog;

  beforeEach(async () => {
    testDb = await openTestDatabase();
    log = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer: p256LogSigner(newLogKey()) });
  });
  afterEach(async () => {
    await log.close();
    await testDb[Symbol.asyncDispose]();
  });

  it('gives, for any range, the bytes the object encoder gives for the credit leaves decoded in full', async () => {
    const random = prng(1306);
    const leaves: Uint8Array[] = [];
    // Batches as the ingest writes them, notarized contract leaves (no entry) and credit leaves in another layout,
    // across entry bundles.
    while (leaves.length < 700) {
      const shape = random(4);
      let batch: Uint8Array[];
      if (shape === 0) {
        batch = [
          encodeLogLeaf({
            version: 1,
            org: ORIGIN,
            appendedAtMs: 5,
            nonce: Buffer.alloc(16, 1),
            contract: {
              documentDigest: Buffer.alloc(32, 7),
              parties: [testUscc(1)],
              partySignatureDigests: [],
              labels: {},
            },
          }),
        ];
      } else if (shape === 1) {
        // Its version field repeated at the end (protobuf: the last one counts): not the ingest's own layout, so
        // read by the full decoder.
        batch = [
          concatBytes(
            encodeLogLeaf({
              version: 1,
              org: 'HangzhouCreditMSP',
              appendedAtMs: 1 + random(2 ** 40),
              nonce: Buffer.alloc(16, 2),
              creditRecord: {
                subject: testUscc(random(1e9)),
                kind: 'tax',
                recordVersion: 3,
                recordDigest: Buffer.from(Array.from({ length: 32 }, () => random(256))),
                contentType: 'application/json',
              },
            }),
            [0x08, 0x01],
          ),
        ];
      } else {
        const records: CreditLeafFields[] = Array.from({ length: 1 + random(120) }, () => ({
          subject: testUscc(random(1e9)),
          kind: ['loan', 'k', 'court_2', 'x'.repeat(32)][random(4)] ?? 'loan',
          version: 1 + random(2 ** 30),
          digest: Buffer.from(Array.from({ length: 32 }, () => random(256))),
          contentType: 'application/json',
        }));
        batch = encodeCreditLeaves('HangzhouCreditMSP', 1 + random(2 ** 40), records);
      }
      await log.append(batch);
      leaves.push(...batch);
    }
    // Each range by a writer of its own and by one writer shared, as an anchorer shares it: every answer is checked
    // once all are written, so one written into bytes another answer still uses would show.
    const shared = new IndexEntriesWriter(0);
    const answers: { from: number; to: number; views: IndexEntriesView[] }[] = [];
    for (const [from, to] of [
      [0, leaves.length],
      [0, 1],
      [255, 257],
      [3, 3],
      [100 + random(200), 400 + random(300)],
    ] as const) {
      answers.push({
        from,
        to,
        views: [await anchorIndexEntries(log, from, to), await anchorIndexEntries(log, from, to, shared)],
      });
    }
    for (const { from, to, views } of answers) {
      for (const view of views)
        expect(view.bytes.toString('hex')).toBe(expectedEntries(leaves, from, to).toString('hex'));
    }
  });

  it("bounds the entries, not the leaves, by the chaincode's 10,000 per anchor", async () => {
    const record = (n: number): CreditLeafFields => ({
      subject: testUscc(n),
      kind: 'loan',
      version: 1,
      digest: Buffer.alloc(32, n % 256),
      contentType: 'application/json',
    });
    const contract = encodeLogLeaf({
      version: 1,
      org: ORIGIN,
      appendedAtMs: 5,
      nonce: Buffer.alloc(16, 1),
      contract: { documentDigest: Buffer.alloc(32, 7), parties: [testUscc(1)], partySignatureDigests: [], labels: {} },
    });
    await log.append(Array.from({ length: 50 }, () => contract));
    await log.append(
      encodeCreditLeaves(
        'HangzhouCreditMSP',
        1,
        Array.from({ length: 10_000 }, (_, i) => record(i)),
      ),
    );
    // 10,050 leaves, 10,000 of them credit records: one full anchor.
    expect((await anchorIndexEntries(log, 0, 10_050)).count).toBe(10_000);
    await log.append(encodeCreditLeaves('HangzhouCreditMSP', 2, [record(10_000)]));
    await expect(anchorIndexEntries(log, 0, 10_051)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('at most 10000 entries') as unknown,
    });
  });

  it('refuses to write a credit leaf whose subject the chain would refuse', async () => {
    const [leaf] = encodeCreditLeaves('HangzhouCreditMSP', 1, [
      { subject: testUscc(7).toLowerCase(), kind: 'loan', version: 1, digest: Buffer.alloc(32), contentType: 'a/b' },
    ]);
    await log.append([leaf ?? new Uint8Array()]);
    await expect(anchorIndexEntries(log, 0, 1)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('indexEntries[0].subject') as unknown,
    });
  });
});
