import { describe, expect, it } from 'vitest';
import { toProto3Json } from './proto-json.ts';

describe('toProto3Json (protobuf.dev/programming-guides/json)', () => {
  it('prints 64-bit integers as decimal strings, bytes in base64, enums by name', () => {
    expect(
      toProto3Json('RecordStatus', {
        record: { subject: 'S', kind: 'loan', version: 2 ** 53 - 1 },
        state: 'EVIDENCE_STATE_ANCHORED',
        leafIndex: 7,
        recordDigest: Buffer.from([0xfb, 0xff]),
        anchor: { channel: 'lianxin', chaincode: 'lianxin', transactionId: 'ab', blockNumber: 12 },
      }),
    ).toEqual({
      record: { subject: 'S', kind: 'loan', version: '9007199254740991' },
      state: 'EVIDENCE_STATE_ANCHORED',
      leafIndex: '7',
      recordDigest: '+/8=',
      anchor: { channel: 'lianxin', chaincode: 'lianxin', transactionId: 'ab', blockNumber: '12' },
    });
  });

  it('leaves out fields at their default (0, "", empty bytes and lists, the 0 enum, unset messages)', () => {
    expect(
      toProto3Json('RecordStatus', {
        record: { subject: '', kind: '', version: 0 },
        state: 'EVIDENCE_STATE_UNSPECIFIED',
        leafIndex: 0,
        recordDigest: Buffer.alloc(0),
        anchor: null,
      }),
    ).toEqual({ record: {} });
    expect(toProto3Json('InclusionProof', { leafIndex: 0, treeSize: 1, hashes: [] })).toEqual({ treeSize: '1' });
  });

  it('prints the set member of a oneof, and an enum given as a number by its name', () => {
    expect(
      toProto3Json('AttestResponse', {
        requestId: 'r',
        indexEntry: { subject: 'S', kind: 'loan', origin: 'o', leafIndex: 0, recordVersion: 1 },
        result: 'indexEntry',
      }),
    ).toEqual({ requestId: 'r', indexEntry: { subject: 'S', kind: 'loan', origin: 'o', recordVersion: '1' } });
    expect(toProto3Json('RecordStatus', { state: 3 })).toEqual({ state: 'EVIDENCE_STATE_ANCHORED' });
  });
});
