import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeIndexEntries, scanIndexEntries, type IndexEntry } from '../../chaincode/src/protocol.ts';
import {
  decodeLatestRow,
  encodeLatestRow,
  latestKey,
  latestRowsOf,
  versionOf,
  type LatestRow,
  type LatestRows,
} from './index-rows.ts';
import { KeyFilter } from '../store/index.ts';

const keysOf = (rows: LatestRows): Buffer[] => Array.from({ length: rows.count }, (_, i) => rows.key(i));
const valuesOf = (rows: LatestRows): Buffer[] => Array.from({ length: rows.count }, (_, i) => rows.value(i));

describe('chain index rows', () => {
  const row: LatestRow = {
    version: 7,
    leafIndex: 2 ** 53 - 1,
    checkpointSize: 2 ** 53 - 1,
    leafHash: 'ab'.repeat(32),
    recordDigest: '0f'.repeat(32),
    origin: 'lianxin/HangzhouCreditMSP/0',
  };

  it('round-trips a row at the largest leaf index and size the chaincode allows', () => {
    const bytes = encodeLatestRow(row);
    expect(decodeLatestRow(bytes)).toEqual(row);
    expect(versionOf(bytes)).toBe(7);
  });

  it('is about a quarter of the JSON row it replaced', () => {
    const json = JSON.stringify({
      ...row,
      subject: '91330100716105852D',
      kind: 'loan',
      txId: 'cd'.repeat(32),
      blockNumber: '123456',
      anchoredAt: '2026-11-23T08:00:00.000Z',
    });
    expect(encodeLatestRow(row).length).toBeLessThan(json.length / 3);
  });
});

describe('latest rows built from the chain encoding', () => {
  it('gives the keys and rows latestKey and encodeLatestRow give, byte for byte', () => {
    const kinds = ['loan', 'a', 'court_judgment_2', 'k'.repeat(32)];
    const subjects = ['91330100716105852D', '91100000100003962T', '914403001922038216'];
    const entries: IndexEntry[] = Array.from({ length: 40 }, (_, i) => ({
      leafIndex: 2 ** 40 + i * 3,
      leafHash: createHash('sha256')
        .update(`leaf ${String(i)}`)
        .digest('hex'),
      subject: subjects[i % subjects.length] ?? '',
      kind: kinds[i % kinds.length] ?? '',
      recordDigest: createHash('sha256')
        .update(`record ${String(i)}`)
        .digest('hex'),
    }));
    const origin = 'lianxin/NanjingSupplyChainMSP/shard-2';
    const rows = latestRowsOf(scanIndexEntries(encodeIndexEntries(entries), 'lenient'), origin, 2 ** 40 + 200);
    for (let i = 0; i < entries.length; i++) rows.setVersion(i, i + 1);
    expect(keysOf(rows)).toEqual(entries.map((e) => latestKey(e.subject, e.kind)));
    expect(valuesOf(rows)).toEqual(
      entries.map((e, i) =>
        encodeLatestRow({
          version: i + 1,
          leafIndex: e.leafIndex,
          checkpointSize: 2 ** 40 + 200,
          leafHash: e.leafHash,
          recordDigest: e.recordDigest,
          origin,
        }),
      ),
    );
    // With a sublevel's prefix: the same keys behind it, the same rows.
    const prefix = Buffer.from('!chain-index!');
    const prefixed = latestRowsOf(scanIndexEntries(encodeIndexEntries(entries), 'lenient'), origin, 2, prefix);
    expect(keysOf(prefixed)).toEqual(entries.map((e) => Buffer.concat([prefix, latestKey(e.subject, e.kind)])));
    expect(valuesOf(prefixed).map((v) => v.subarray(20))).toEqual(valuesOf(rows).map((v) => v.subarray(20)));
    // Each key hashed where it lies hashes as its own bytes do (what a saved key filter was built from).
    const skip = prefix.length + 'latest/'.length;
    const inPlace = new Uint32Array(2 * entries.length);
    const ofKeys = new Uint32Array(2 * entries.length);
    const filter = new KeyFilter(skip);
    keysOf(prefixed).forEach((key, i) => {
      prefixed.hashKey(i, skip, inPlace);
      filter.hashInto(key, ofKeys, i);
    });
    expect(inPlace).toEqual(ofKeys);
  });
});
