/**
 * The v2 batch signature is checked once per trust bundle: a verifier of a stream pays one ECDSA verification per
 * batch, not per attestation. Counted on the real node:crypto backend, wrapped to count its curve checks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import { attestationBytes } from '../receipts/attestation-signer.ts';
import { attestBatch, bundleOf, createTestLog, createTestOrg, type TestLog } from '../receipts/test-fixtures.ts';
import type { VerifierCrypto } from './crypto-port.ts';
import { parseTrustBundle, verifyAttestation } from './index.ts';
import { nodeCrypto } from './node-crypto.ts';

/** node:crypto, counting the ECDSA verifications the core asks of it. */
function counting(): { crypto: VerifierCrypto; verifications: () => number } {
  let verifications = 0;
  const crypto: VerifierCrypto = {
    name: 'node:crypto (counted)',
    sha256: (...parts) => nodeCrypto.sha256(...parts),
    importP256: (spki, point) => nodeCrypto.importP256(spki, point),
    verifyP256: (key, message, signature) => {
      verifications++;
      return nodeCrypto.verifyP256(key, message, signature);
    },
  };
  return { crypto, verifications: () => verifications };
}

let bundleJson: unknown;
let log: TestLog;
let batch: Attestation__Output[];

beforeAll(async () => {
  const org = await createTestOrg('HangzhouAgencyMSP', 'agency');
  bundleJson = bundleOf([org]);
  log = createTestLog(org, 8);
  batch = attestBatch(log, [0, 1, 2, 3, 4, 5, 6, 7]);
});

describe('the batch signature memo', () => {
  it('verifies a batch of 8 with one batch signature check and one checkpoint check per bundle', () => {
    const { crypto, verifications } = counting();
    const bundle = parseTrustBundle(bundleJson as object, crypto);
    for (const a of batch) expect(verifyAttestation(attestationBytes(a), bundle).ok).toBe(true);
    expect(verifications()).toBe(2);
    // Another bundle (another verifier) remembers nothing of the first.
    const other = parseTrustBundle(bundleJson as object, crypto);
    expect(verifyAttestation(attestationBytes(batch[0] as Attestation__Output), other).ok).toBe(true);
    expect(verifications()).toBe(4);
  });

  it('remembers a bad batch signature as bad, for every attestation carrying it', () => {
    const { crypto, verifications } = counting();
    const bundle = parseTrustBundle(bundleJson as object, crypto);
    for (const a of batch.slice(0, 3)) {
      if (a.signature === null) throw new Error('unsigned');
      const signature = Uint8Array.from(a.signature.signature);
      signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 0x01;
      const verdict = verifyAttestation(attestationBytes({ ...a, signature: { ...a.signature, signature } }), bundle);
      expect(verdict).toMatchObject({ ok: false, code: 'BAD_NODE_SIGNATURE', field: 'signature.signature' });
    }
    expect(verifications()).toBe(1);
    // The valid signature is a different memo entry: still accepted.
    expect(verifyAttestation(attestationBytes(batch[0] as Attestation__Output), bundle).ok).toBe(true);
  });
});
