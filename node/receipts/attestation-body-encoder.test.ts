import { beforeAll, describe, expect, it } from 'vitest';
import { encodeAttestationBody, type AttestationBodyFields } from './attestation-body-encoder.ts';
import { encodeNormalized } from './attestation-codec.ts';
import { ATTESTATION_FORMAT } from './constants.ts';
import { bodyOf, createTestLog, createTestOrg, unsignedAttestation, type TestLog } from './test-fixtures.ts';

let log: TestLog;

beforeAll(async () => {
  log = createTestLog(await createTestOrg('HangzhouAgencyMSP', 'agency'), 9);
});

const body = (index: number, change: Partial<AttestationBodyFields> = {}): AttestationBodyFields => ({
  format: ATTESTATION_FORMAT,
  ...bodyOf(unsignedAttestation(log, index)),
  ...change,
});

/** The verifier core's protobufjs encoding is the reference: the signature covers what a verifier re-reads. */
const expectSameBytes = (fields: AttestationBodyFields) => {
  expect(Buffer.from(encodeAttestationBody(fields)).toString('hex')).toBe(
    Buffer.from(encodeNormalized(fields)).toString('hex'),
  );
};

describe('encodeAttestationBody', () => {
  it('writes the bytes protobufjs writes, for every leaf of a log (answers sharing a checkpoint)', () => {
    for (let i = 0; i < 9; i++) expectSameBytes(body(i));
  });

  it('writes fields holding their defaults, as protobufjs does for a normalized object', () => {
    const checkpointed = body(0, { anchor: null, state: 'EVIDENCE_STATE_CHECKPOINTED' });
    expectSameBytes(checkpointed);
    expectSameBytes({
      ...checkpointed,
      format: '',
      leaf: Buffer.alloc(0),
      inclusion: { leafIndex: 0, treeSize: 0, hashes: [] },
      state: 'EVIDENCE_STATE_UNSPECIFIED',
      issuedAtMs: 0,
      issuer: '',
    });
  });

  it('writes varints beyond 32 bits (timestamps, large logs) and long lengths', () => {
    const base = body(3);
    expectSameBytes({
      ...base,
      leaf: Buffer.alloc(70_000, 7),
      inclusion: { leafIndex: 2 ** 40 + 5, treeSize: Number.MAX_SAFE_INTEGER, hashes: base.inclusion?.hashes ?? [] },
      issuedAtMs: 1_790_000_000_123,
    });
  });

  it('does not reuse the shared fields of another anchor or state of the same checkpoint', () => {
    const anchored = body(1);
    expectSameBytes(anchored);
    const { anchor } = anchored;
    if (anchor === null) throw new Error('the fixture is anchored');
    expectSameBytes({ ...anchored, anchor: { ...anchor, blockNumber: 43 } });
    expectSameBytes({ ...anchored, anchor: { ...anchor, transactionId: 'b'.repeat(64) } });
    expectSameBytes({ ...anchored, state: 'EVIDENCE_STATE_PENDING' });
    expectSameBytes({ ...anchored, anchor: null });
    const checkpoint = anchored.checkpoint;
    if (checkpoint === null) throw new Error('the fixture has a checkpoint');
    expectSameBytes({ ...anchored, checkpoint: { ...checkpoint, size: checkpoint.size + 1 } });
    expectSameBytes({ ...anchored, checkpoint: { ...checkpoint, rootHash: Buffer.alloc(32, 1) } });
  });

  it('encodes what it does not write itself through protobufjs (non-ASCII strings, no inclusion, negative time)', () => {
    expectSameBytes(body(2, { issuer: '杭州征信MSP' }));
    expectSameBytes(body(2, { format: 'lianxin-attestation/v2\ud800' }));
    expectSameBytes(body(2, { inclusion: null }));
    expectSameBytes(body(2, { checkpoint: null, anchor: null }));
    expectSameBytes(body(2, { issuedAtMs: -1 }));
  });

  it('compares the shared fields by value: a checkpoint object changed after an answer, or bytes as Uint8Array', () => {
    const fields = body(4);
    expectSameBytes(fields);
    const checkpoint = fields.checkpoint;
    if (checkpoint === null) throw new Error('the fixture has a checkpoint');
    checkpoint.rootHash[0] = (checkpoint.rootHash[0] ?? 0) ^ 1;
    expectSameBytes(fields);
    checkpoint.size += 1;
    expectSameBytes(fields);
    // structuredClone turns every Buffer into a Uint8Array: what a caller outside the gRPC layer may hand over.
    expectSameBytes(structuredClone(body(5)));
  });
});
