import { describe, expect, it } from 'vitest';
import { decodeLatestRow, encodeLatestRow, versionOf, type LatestRow } from './index-rows.ts';

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
