import { loadSync } from '@grpc/proto-loader';
import { beforeAll, describe, expect, it } from 'vitest';
import { rememberEncoding } from '../receipts/attestation-codec.ts';
import { parseTrustBundle, verifyAttestation, type TrustBundle } from '../receipts/index.ts';
import { attestBatch, bundleOf, createTestLog, createTestOrg, type TestLog } from '../receipts/test-fixtures.ts';
import type { Attestation__Output } from './generated/lianxin/v1/Attestation.ts';
import type { AttestResponse__Output } from './generated/lianxin/v1/AttestResponse.ts';
import { PROTO_FILES, PROTO_LOADER_OPTIONS } from './proto-files.ts';
import { lianxinPackageDefinition } from './proto-loader.ts';

interface Method {
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): AttestResponse__Output;
}

let log: TestLog;
let bundle: TrustBundle;
let attestations: Attestation__Output[];
/** proto-loader's own serializers, from the same files and options: the bytes the node sent before. */
let plain: Record<string, Method>;
let served: Record<string, Method>;

beforeAll(async () => {
  const agency = await createTestOrg('HangzhouAgencyMSP', 'agency');
  bundle = parseTrustBundle(JSON.stringify(bundleOf([agency])));
  log = createTestLog(agency, 5);
  attestations = attestBatch(log, [1, 4, 3]);
  plain = loadSync(PROTO_FILES, PROTO_LOADER_OPTIONS)['lianxin.v1.AttestationService'] as unknown as Record<
    string,
    Method
  >;
  served = lianxinPackageDefinition()['lianxin.v1.AttestationService'] as unknown as Record<string, Method>;
});

describe("AttestationService's response serializer", () => {
  it("sends the signer's bytes, identical to proto-loader's encoding of the response, for Attest and AttestStream", () => {
    for (const method of ['Attest', 'AttestStream']) {
      for (const [i, attestation] of attestations.entries()) {
        const response = { requestId: `q${i}`, attestation };
        const sent = served[method]?.responseSerialize(response);
        // A copy is not the signer's object: proto-loader encodes it, as it did every answer before.
        expect(sent).toEqual(plain[method]?.responseSerialize({ requestId: `q${i}`, attestation: { ...attestation } }));
        const received = plain[method]?.responseDeserialize(sent ?? Buffer.alloc(0));
        expect(received?.requestId).toBe(`q${i}`);
        expect(received?.attestation && verifyAttestation(received.attestation, bundle)).toMatchObject({ ok: true });
      }
    }
  });

  it('writes the remembered bytes as they are, without encoding the object', () => {
    const attestation = { ...attestations[0] } as Attestation__Output;
    const remembered = Buffer.from('not an encoding of the object');
    rememberEncoding(attestation, remembered);
    const sent = served.AttestStream?.responseSerialize({ requestId: 'q', attestation });
    // 0a 01 'q' (request_id), then 12, the length and the remembered bytes (attestation).
    expect(sent).toEqual(Buffer.concat([Buffer.from([0x0a, 1, 0x71, 0x12, remembered.length]), remembered]));
  });

  it('writes request IDs of every length, and remembered bytes of multi-byte lengths, as proto-loader does', () => {
    const attestation = { ...attestations[1] } as Attestation__Output;
    const large = Buffer.alloc(20_000, 0x5a);
    rememberEncoding(attestation, large);
    for (const requestId of ['', 'a'.repeat(127), 'b'.repeat(128), 'c'.repeat(300)]) {
      const sent = served.AttestStream?.responseSerialize({ requestId, attestation });
      // proto-loader's writing of the same two fields: request_id, then the bytes as one length-delimited field.
      const expected = plain.AttestStream?.responseSerialize({ requestId, attestation: null });
      const tail = Buffer.concat([Buffer.from([0x12, 0xa0, 0x9c, 0x01]), large]);
      expect(sent?.toString('hex')).toBe(Buffer.concat([expected ?? Buffer.alloc(0), tail]).toString('hex'));
    }
  });

  it('encodes an index entry, an attestation it did not sign, or one under a request ID not ASCII, as proto-loader does', () => {
    const indexEntry = {
      subject: '91330100MA27XK5U3F',
      kind: 'loan',
      origin: log.org.origin,
      leafIndex: 3,
      leafHash: Buffer.alloc(32, 1),
      recordDigest: Buffer.alloc(32, 2),
      recordVersion: 1,
      transactionId: 'a'.repeat(64),
    };
    const first = attestations[0];
    for (const response of [
      { requestId: 'x', indexEntry },
      { requestId: 'y', attestation: { ...first } },
      // A request ID not ASCII (a bank's own, such as 贷款申请-001): proto-loader's path.
      { requestId: '请求-7', attestation: first },
    ]) {
      expect(served.Attest?.responseSerialize(response)).toEqual(plain.Attest?.responseSerialize(response));
    }
  });
});
