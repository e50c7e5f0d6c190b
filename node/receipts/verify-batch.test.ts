/** Offline verification of format v2: one node signature over the Merkle root of a batch of attestations. */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import { decodeAttestation, encodeAttestation, encodeAttestationTail } from './attestation-codec.ts';
import { attestationBytes } from './attestation-signer.ts';
import {
  attestBatch,
  bundleOf,
  createTestLog,
  createTestOrg,
  unsignedAttestation,
  bodyOf,
  type TestLog,
  type TestOrg,
} from './test-fixtures.ts';
import { signAttestationBatch } from './attestation-signer.ts';
import { parseTrustBundle, type TrustBundle } from './trust-bundle.ts';
import { verifyAttestation } from './verify.ts';

let agency: TestOrg;
let bank: TestOrg;
let bundle: TrustBundle;
let log: TestLog;
/** Leaves 0, 3, 4, 1, 6 of a 7-leaf log, signed as one batch of 5. */
let batch: Attestation__Output[];

beforeAll(async () => {
  const orgs = await Promise.all([
    createTestOrg('HangzhouAgencyMSP', 'agency'),
    createTestOrg('ShanghaiBankMSP', 'bank'),
  ]);
  [agency, bank] = orgs;
  bundle = parseTrustBundle(JSON.stringify(bundleOf(orgs)));
  log = createTestLog(agency, 7);
  batch = attestBatch(log, [0, 3, 4, 1, 6]);
});

const at = (i: number): Attestation__Output => {
  const attestation = batch[i];
  if (attestation === undefined) throw new RangeError(`no attestation ${i}`);
  return attestation;
};
const batchOf = (a: Attestation__Output) => {
  if (a.batch === null) throw new Error('not a v2 attestation');
  return a.batch;
};
const flip = (bytes: Uint8Array, at = 0) => Buffer.from(Uint8Array.from(bytes, (b, i) => (i === at ? b ^ 1 : b)));

describe('verifyAttestation accepts format v2', () => {
  it('every attestation of batches of 1 to 9, from its bytes and as the gRPC client decodes it', () => {
    for (let size = 1; size <= 9; size++) {
      const indices = Array.from({ length: size }, (_, i) => (i * 3) % 7);
      attestBatch(log, indices).forEach((attestation, i) => {
        expect(attestation).toMatchObject({ format: 'lianxin-attestation/v2', batch: { index: i, size } });
        const bytes = attestationBytes(attestation);
        const decoded = decodeAttestation(bytes).attestation;
        for (const input of [bytes, decoded]) {
          expect(verifyAttestation(input, bundle)).toMatchObject({ ok: true, leafIndex: indices[i], size: 7 });
        }
      });
    }
  });

  it('with one signature for the whole batch, and bytes that are the deterministic encoding of the object', () => {
    const signatures = new Set(batch.map((a) => a.signature?.signature.toString('hex')));
    expect(signatures.size).toBe(1);
    for (const attestation of batch) {
      const bytes = Buffer.from(attestationBytes(attestation));
      // The signer's remembered bytes are what encoding the object gives: the gRPC layer may send either.
      expect(bytes).toEqual(Buffer.from(encodeAttestation({ ...attestation })));
    }
  });
});

describe('verifyAttestation rejects format v2', () => {
  it('a changed path hash, or a path that is short or long', () => {
    const a = at(1);
    const { path } = batchOf(a);
    const [first = Buffer.alloc(32), ...rest] = path;
    for (const changed of [[flip(first), ...rest], rest, [...path, first]]) {
      expect(verifyAttestation({ ...a, batch: { ...batchOf(a), path: changed } }, bundle)).toMatchObject({
        ok: false,
        code: 'BAD_BATCH_PROOF',
        field: 'batch.path',
      });
    }
  });

  it('another index, or an index beyond the batch', () => {
    const a = at(1);
    expect(verifyAttestation({ ...a, batch: { ...batchOf(a), index: 2 } }, bundle)).toMatchObject({
      code: 'BAD_BATCH_PROOF',
      field: 'batch.path',
    });
    expect(verifyAttestation({ ...a, batch: { ...batchOf(a), index: 5 } }, bundle)).toMatchObject({
      code: 'BAD_BATCH_PROOF',
      field: 'batch.index',
    });
  });

  it('another size: the path no longer fits it, or the signature does not cover it', () => {
    const a = at(1); // index 1 of 5: a path of 3 hashes
    expect(verifyAttestation({ ...a, batch: { ...batchOf(a), size: 2 } }, bundle)).toMatchObject({
      code: 'BAD_BATCH_PROOF',
      field: 'batch.path',
    });
    // In a batch of 6 or 8 the same path leads to the same root: only the signature, which covers the size, fails.
    for (const size of [6, 8]) {
      expect(verifyAttestation({ ...a, batch: { ...batchOf(a), size } }, bundle)).toMatchObject({
        code: 'BAD_NODE_SIGNATURE',
        field: 'signature.signature',
      });
    }
  });

  it('another root, and a changed batch signature', () => {
    const a = at(2);
    expect(verifyAttestation({ ...a, batch: { ...batchOf(a), root: flip(batchOf(a).root) } }, bundle)).toMatchObject({
      code: 'BAD_BATCH_PROOF',
    });
    const signature = a.signature ?? { kid: '', suite: '', signature: Buffer.alloc(0) };
    const forged = {
      ...a,
      signature: { ...signature, signature: flip(signature.signature, signature.signature.length - 1) },
    };
    expect(verifyAttestation(forged, bundle)).toMatchObject({
      code: 'BAD_NODE_SIGNATURE',
      field: 'signature.signature',
    });
    // The genuine attestation still verifies: a bad signature remembered does not taint the good one.
    expect(verifyAttestation(a, bundle)).toMatchObject({ ok: true });
  });

  it('an attestation carrying the batch proof of another attestation, of this batch or of another batch', () => {
    // Position 3 holds leaf 1 in `batch` and leaf 6 in `other`.
    const other = attestBatch(log, [5, 2, 4, 6, 0]);
    const a = at(3);
    for (const donor of [at(2), other[3], other[1]]) {
      if (donor === undefined) throw new Error('no donor');
      const swapped = { ...a, signature: donor.signature, batch: donor.batch };
      expect(verifyAttestation(swapped, bundle)).toMatchObject({ ok: false, code: 'BAD_BATCH_PROOF' });
    }
  });

  it('a changed leaf or issue time that was not re-signed', () => {
    const a = at(0);
    expect(verifyAttestation({ ...a, leaf: flip(a.leaf, a.leaf.length - 1) }, bundle)).toMatchObject({
      code: 'BAD_BATCH_PROOF',
    });
    expect(verifyAttestation({ ...a, issuedAtMs: a.issuedAtMs - 1 }, bundle)).toMatchObject({
      code: 'BAD_BATCH_PROOF',
    });
  });

  it('a v2 attestation without its batch, and a v1 attestation with one', () => {
    const a = at(0);
    expect(verifyAttestation({ ...a, batch: null }, bundle)).toMatchObject({ code: 'BAD_FORMAT', field: 'batch' });
    expect(verifyAttestation({ ...a, format: 'lianxin-attestation/v1' }, bundle)).toMatchObject({
      code: 'BAD_FORMAT',
      field: 'batch',
    });
    // A batch signature never passes for a v1 signature over the same attestation.
    const single = attestBatch(log, [0])[0];
    if (single === undefined) throw new Error('no attestation');
    expect(verifyAttestation({ ...single, format: 'lianxin-attestation/v1', batch: null }, bundle)).toMatchObject({
      code: 'BAD_NODE_SIGNATURE',
    });
  });

  it("a batch signed by another organisation's receipt key", () => {
    const [forged] = signAttestationBatch([bodyOf(unsignedAttestation(log, 2))], bank.receiptKey);
    if (forged === undefined) throw new Error('no attestation');
    expect(verifyAttestation(forged, bundle)).toMatchObject({ code: 'UNKNOWN_KEY', field: 'signature.kid' });
  });

  it('two batch fields on the wire', () => {
    const bytes = Buffer.from(attestationBytes(at(1)));
    const batchField = encodeAttestationTail({ batch: at(2).batch });
    expect(verifyAttestation(Buffer.concat([bytes, batchField]), bundle)).toMatchObject({
      code: 'BAD_FORMAT',
      field: 'batch',
    });
  });
});
