import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeIndexEntries, scanIndexEntries, type IndexEntry } from '../../chaincode/src/protocol.ts';
import {
  decodeLatestRow,
  encodeLatestRow,
  latestKey,
  latestRowsOf,
  RowSlabs,
  versionOf,
  type LatestRow,
  type LatestRows,
} from './index-rows.ts';

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

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** `count` entries cycling through `kinds` and three subjects. */
function entriesOf(count: number, kinds: readonly string[], from = 0): IndexEntry[] {
  const subjects = ['91330100716105852D', '91100000100003962T', '914403001922038216'];
  return Array.from({ length: count }, (_, i) => ({
    leafIndex: 2 ** 40 + (from + i) * 3,
    leafHash: sha256(`leaf ${String(from + i)}`),
    subject: subjects[i % subjects.length] ?? '',
    kind: kinds[i % kinds.length] ?? '',
    recordDigest: sha256(`record ${String(from + i)}`),
  }));
}

/** The rows `encodeLatestRow` gives for `entries`, entry i at version i + 1. */
const expectedRows = (entries: readonly IndexEntry[], origin: string, checkpointSize: number): Buffer[] =>
  entries.map((e, i) =>
    encodeLatestRow({
      version: i + 1,
      leafIndex: e.leafIndex,
      checkpointSize,
      leafHash: e.leafHash,
      recordDigest: e.recordDigest,
      origin,
    }),
  );

describe('latest rows built from the chain encoding', () => {
  it('gives the keys and rows latestKey and encodeLatestRow give, byte for byte', () => {
    const entries = entriesOf(40, ['loan', 'a', 'court_judgment_2', 'k'.repeat(32)]);
    const origin = 'lianxin/NanjingSupplyChainMSP/shard-2';
    const rows = latestRowsOf(scanIndexEntries(encodeIndexEntries(entries), 'lenient'), origin, 2 ** 40 + 200);
    for (let i = 0; i < entries.length; i++) rows.setVersion(i, i + 1);
    expect(keysOf(rows)).toEqual(entries.map((e) => latestKey(e.subject, e.kind)));
    expect(valuesOf(rows)).toEqual(expectedRows(entries, origin, 2 ** 40 + 200));
    // With a sublevel's prefix: the same keys behind it, the same rows.
    const prefix = Buffer.from('!chain-index!');
    const prefixed = latestRowsOf(scanIndexEntries(encodeIndexEntries(entries), 'lenient'), origin, 2, prefix);
    expect(keysOf(prefixed)).toEqual(entries.map((e) => Buffer.concat([prefix, latestKey(e.subject, e.kind)])));
    expect(valuesOf(prefixed).map((v) => v.subarray(20))).toEqual(valuesOf(rows).map((v) => v.subarray(20)));
  });

  it('gives each anchor its own bytes in slabs kept across anchors, whatever the ones before were', () => {
    const slabs = new RowSlabs();
    const prefix = Buffer.from('!chain-index!');
    // Origins and kinds of other lengths (more lengths than views are kept of), anchors larger and smaller, and one
    // large enough to grow the slabs.
    const anchors: [string, readonly string[], number][] = [
      ['lianxin/HangzhouCreditMSP/0', ['loan'], 50],
      ['lianxin/ShanghaiBankMSP/12', ['loan', 'a', 'court_judgment_2'], 20],
      ['o', ['ab', 'abc', 'abcd', 'abcde', 'abcdef', 'k'.repeat(32)], 60],
      ['lianxin/HangzhouCreditMSP/0', ['loan'], 2_000],
      ['lianxin/HangzhouCreditMSP/0', ['loan'], 50],
    ];
    let from = 0;
    const firstViews: Buffer[] = [];
    for (const [origin, kinds, count] of anchors) {
      const entries = entriesOf(count, kinds, from);
      from += count;
      const rows = latestRowsOf(scanIndexEntries(encodeIndexEntries(entries), 'lenient'), origin, from, prefix, slabs);
      for (let i = 0; i < count; i++) rows.setVersion(i, i + 1);
      expect(keysOf(rows)).toEqual(entries.map((e) => Buffer.concat([prefix, latestKey(e.subject, e.kind)])));
      expect(valuesOf(rows)).toEqual(expectedRows(entries, origin, from));
      firstViews.push(rows.key(0), rows.value(0));
    }
    // The last two anchors share their slabs, origin and kind: the same views, not new ones per anchor.
    expect(firstViews.at(-2)).toBe(firstViews.at(-4));
    expect(firstViews.at(-1)).toBe(firstViews.at(-3));
    // Another prefix in the same slabs: keys of the same length as the last anchor's, in slots of another size.
    const other = Buffer.from('!ci!');
    const entries = entriesOf(50, ['court_judgmen'], from);
    const rows = latestRowsOf(scanIndexEntries(encodeIndexEntries(entries), 'lenient'), 'o', 1, other, slabs);
    expect(rows.key(1).length).toBe(firstViews.at(-2)?.length);
    expect(keysOf(rows)).toEqual(entries.map((e) => Buffer.concat([other, latestKey(e.subject, e.kind)])));
  });
});
