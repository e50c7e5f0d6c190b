/**
 * The offline proof of an access as a specification: a bundle with the attestation of its access leaf, in the
 * requester's or the provider's log under an anchored checkpoint, verifies with the trust bundle alone; each
 * tampered part (a leaf field, the proof, the checkpoint, the anchor, the bundle) is refused with its own code.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AccessEvidence__Output } from '../api/generated/lianxin/v1/AccessEvidence.ts';
import type { LogLeaf } from '../api/generated/lianxin/v1/LogLeaf.ts';
import { attestationBytes, decodeLogLeaf, parseTrustBundle, type TrustBundle } from '../receipts/index.ts';
import {
  attest,
  bundleOf,
  createTestLog,
  createTestOrg,
  creditRecordLeaf,
  generateTestKey,
  resigned,
  signCheckpoint,
  type TestOrg,
} from '../receipts/test-fixtures.ts';
import { testUscc } from '../services/test-node-parts.ts';
import { accessEvidenceOf, encodeAccessLeaf } from './access-evidence.ts';
import { verifyAccessProof } from './access-proof.ts';
import { parseAccessProofJson } from './bundle-file.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import { digestOf } from './exchange-signatures.ts';
import { signedExchange } from '../verifier/test-access-proof.ts';

const AT = Date.parse('2026-11-23T11:00:00Z');

let bank: TestOrg;
let agency: TestOrg;
let platform: TestOrg;
let trust: TrustBundle;

beforeAll(async () => {
  const orgs = await Promise.all([
    createTestOrg('ShanghaiBankMSP', 'bank'),
    createTestOrg('HangzhouCreditMSP', 'agency'),
    createTestOrg('NanjingSupplyChainMSP', 'platform'),
  ]);
  [bank, agency, platform] = orgs;
  trust = parseTrustBundle(bundleOf(orgs));
});

/** A complete exchange between the bank and the agency, as both journals keep it. */
const exchange = (): ExchangeBundle => signedExchange(bank, agency);

/** `owner`'s log of three leaves, the middle one holding `evidence`, and its attestation of that leaf. */
function attestedLeaf(owner: TestOrg, evidence: AccessEvidence__Output | 'credit-record') {
  const leafOf = (org: string, i: number): LogLeaf =>
    i === 1 && evidence !== 'credit-record'
      ? { version: 1, org, appendedAtMs: AT + 300, nonce: randomBytes(16), access: evidence }
      : creditRecordLeaf(org, i);
  const log = createTestLog(owner, 3, leafOf);
  return { log, attestation: attest(log, 1) };
}

const verify = (bundle: ExchangeBundle, attestation: Parameters<typeof attestationBytes>[0]) =>
  verifyAccessProof(bundle, attestationBytes(attestation), trust);

describe('the access leaf', () => {
  it('encodes the digests of the three signed messages, the parties, the subject and the side', () => {
    const bundle = exchange();
    const leaf = decodeLogLeaf(encodeAccessLeaf(bank.mspId, accessEvidenceOf(bundle, 'obtained'), AT));
    expect(leaf).toMatchObject({ version: 1, org: bank.mspId, appendedAtMs: AT, entry: 'access' });
    expect(leaf.nonce).toHaveLength(16);
    expect(leaf.access).toEqual({
      requestDigest: digestOf(bundle.request),
      receiptDigest: digestOf(bundle.receipt),
      acknowledgementDigest: bundle.acknowledgement && digestOf(bundle.acknowledgement),
      requester: bank.mspId,
      provider: agency.mspId,
      subject: bundle.decoded.receipt.subject,
      role: 'ACCESS_ROLE_OBTAINED',
    });
    expect(accessEvidenceOf(bundle, 'provided').role).toBe('ACCESS_ROLE_PROVIDED');
  });

  it('is only for a complete exchange: a bundle without its acknowledgement has none', () => {
    expect(() => accessEvidenceOf({ ...exchange(), acknowledgement: undefined }, 'provided')).toThrow(
      /acknowledgement/,
    );
  });
});

describe('verifyAccessProof', () => {
  it("proves the access offline with the requester's anchored leaf, and with the provider's", () => {
    const bundle = exchange();
    const obtained = verify(bundle, attestedLeaf(bank, accessEvidenceOf(bundle, 'obtained')).attestation);
    expect(obtained).toMatchObject({
      ok: true,
      findings: [],
      receiptDigest: digestOf(bundle.receipt).toString('hex'),
      access: { loggedBy: bank.mspId, origin: bank.origin, leafIndex: 1, size: 3, anchor: { blockNumber: 42 } },
    });
    const provided = verify(bundle, attestedLeaf(agency, accessEvidenceOf(bundle, 'provided')).attestation);
    expect(provided).toMatchObject({ ok: true, access: { loggedBy: agency.mspId } });
  });

  it('refuses a leaf whose every field does not match the bundle, naming the field', () => {
    const bundle = exchange();
    const other = exchange();
    const evidence = accessEvidenceOf(bundle, 'obtained');
    const otherEvidence = accessEvidenceOf(other, 'obtained');
    const cases: [Partial<AccessEvidence__Output>, string][] = [
      [{ requestDigest: otherEvidence.requestDigest }, 'leaf.access.requestDigest'],
      [{ receiptDigest: otherEvidence.receiptDigest }, 'leaf.access.receiptDigest'],
      [{ acknowledgementDigest: otherEvidence.acknowledgementDigest }, 'leaf.access.acknowledgementDigest'],
      [{ requester: platform.mspId }, 'leaf.access.requester'],
      [{ provider: platform.mspId }, 'leaf.access.provider'],
      [{ subject: testUscc(12) }, 'leaf.access.subject'],
      [{ role: 'ACCESS_ROLE_PROVIDED' }, 'leaf.access.role'],
    ];
    for (const [change, field] of cases) {
      const { attestation } = attestedLeaf(bank, { ...evidence, ...change });
      expect(verify(bundle, attestation), field).toMatchObject({ ok: false, code: 'ACCESS_LEAF_MISMATCH', field });
    }
  });

  it("refuses a leaf in a third institution's log, and a leaf that is no access", () => {
    const bundle = exchange();
    const thirdParty = attestedLeaf(platform, accessEvidenceOf(bundle, 'obtained')).attestation;
    expect(verify(bundle, thirdParty)).toMatchObject({ ok: false, code: 'ACCESS_LEAF_MISMATCH', field: 'leaf.org' });
    const record = attestedLeaf(bank, 'credit-record').attestation;
    expect(verify(bundle, record)).toMatchObject({ ok: false, code: 'ACCESS_LEAF_MISMATCH', field: 'leaf' });
  });

  it('refuses a tampered proof, checkpoint, anchor or attestation with the attestation code', () => {
    const bundle = exchange();
    const { log, attestation } = attestedLeaf(bank, accessEvidenceOf(bundle, 'obtained'));
    const key = bank.receiptKey;
    const hashes = attestation.inclusion?.hashes ?? [];
    const flipped = hashes.map((h, i) => (i === 0 ? Buffer.from(h).map((b, j) => (j === 0 ? b ^ 1 : b)) : h));
    const forgedNote = signCheckpoint(bank.origin, 3, log.rootHash, generateTestKey());
    const cases: [ReturnType<typeof attest>, string, string][] = [
      [
        resigned(attestation, key, { inclusion: { leafIndex: 1, treeSize: 3, hashes: flipped } }),
        'BAD_INCLUSION_PROOF',
        'accessAttestation.inclusion',
      ],
      [
        resigned(attestation, key, {
          checkpoint: { note: forgedNote, origin: bank.origin, size: 3, rootHash: log.rootHash },
        }),
        'BAD_CHECKPOINT_SIGNATURE',
        'accessAttestation.checkpoint.note',
      ],
      [
        resigned(attestation, key, { anchor: null, state: 'EVIDENCE_STATE_CHECKPOINTED' }),
        'NOT_ANCHORED',
        'accessAttestation.state',
      ],
      [
        resigned(attestation, key, { anchor: { ...attestation.anchor, channel: 'another' } }),
        'WRONG_CHANNEL',
        'accessAttestation.anchor.channel',
      ],
      [
        { ...attestation, issuedAtMs: attestation.issuedAtMs + 1 },
        'BAD_NODE_SIGNATURE',
        'accessAttestation.signature.signature',
      ],
    ];
    for (const [tampered, attestationCode, field] of cases) {
      expect(verify(bundle, tampered), attestationCode).toMatchObject({
        ok: false,
        code: 'ACCESS_PROOF_REJECTED',
        attestationCode,
        field,
      });
    }
  });

  it('refuses a tampered bundle before looking at the leaf', () => {
    const bundle = exchange();
    const { attestation } = attestedLeaf(bank, accessEvidenceOf(bundle, 'obtained'));
    const signature = Buffer.from(bundle.receipt.signature.signature);
    signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 1;
    const forged = { ...bundle, receipt: { ...bundle.receipt, signature: { ...bundle.receipt.signature, signature } } };
    expect(verify(forged, attestation)).toMatchObject({
      ok: false,
      code: 'SIGNATURE_INVALID',
      field: 'receipt.signature',
    });
    // The leaf states the acknowledgement: a bundle stripped of it does not match.
    expect(verify({ ...bundle, acknowledgement: undefined }, attestation)).toMatchObject({
      ok: false,
      code: 'ACCESS_LEAF_MISMATCH',
      field: 'leaf.access.acknowledgementDigest',
    });
  });
});

describe('parseAccessProofJson', () => {
  it('reads the attestation of an AccessProof file and refuses one that is not base64, naming the field', () => {
    const bundle = exchange();
    const message = (e: ExchangeBundle['request']) => ({
      body: Buffer.from(e.body).toString('base64'),
      signature: { ...e.signature, signature: Buffer.from(e.signature.signature).toString('base64') },
    });
    const file = {
      bundle: { request: message(bundle.request), receipt: message(bundle.receipt) },
      accessAttestation: Buffer.from('proof').toString('base64'),
    };
    expect(Buffer.from(parseAccessProofJson(file).accessAttestation ?? []).toString()).toBe('proof');
    expect(parseAccessProofJson({ bundle: file.bundle }).accessAttestation).toBeUndefined();
    expect(() => parseAccessProofJson({ ...file, accessAttestation: 'not base64!' })).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE', field: 'accessAttestation' }),
    );
  });
});
