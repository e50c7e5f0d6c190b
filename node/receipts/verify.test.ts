import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeDerSignature, encodeDerSignature } from '../../network/crypto/index.ts';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import { decodeLogLeaf, encodeLogLeaf } from './attestation-codec.ts';
import { attestationBytes, signAttestation } from './attestation-signer.ts';
import {
  attest,
  bundleOf,
  CHANNEL,
  createTestLog,
  createTestOrg,
  creditRecordLeaf,
  editBundle,
  generateTestKey,
  ISSUED_AT_MS,
  resigned,
  signCheckpoint,
  unsignedAttestation,
  type TestLog,
  type TestOrg,
} from './test-fixtures.ts';
import { parseTrustBundle, type TrustBundle, type TrustBundleJson } from './trust-bundle.ts';
import { committedDigest } from '../verifier/index.ts';
import { explainAttestation, verifyAttestation } from './verify.ts';

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

let agency: TestOrg;
let bank: TestOrg;
let bundleJson: TrustBundleJson;
let bundle: TrustBundle;
let log: TestLog;
let good: Attestation__Output;

beforeAll(async () => {
  const orgs = await Promise.all([
    createTestOrg('HangzhouAgencyMSP', 'agency'),
    createTestOrg('ShanghaiBankMSP', 'bank'),
  ]);
  [agency, bank] = orgs;
  bundleJson = bundleOf(orgs);
  bundle = parseTrustBundle(JSON.stringify(bundleJson));
  log = createTestLog(agency, 7);
  good = attest(log, 3);
});

function flipByte(bytes: Uint8Array, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

function withBundle(edit: Parameters<typeof editBundle>[1]): TrustBundle {
  return parseTrustBundle(editBundle(bundleJson, edit));
}

describe('verifyAttestation accepts', () => {
  it('an anchored attestation built end to end, from its bytes', () => {
    const result = verifyAttestation(attestationBytes(good), bundle);
    expect(result).toMatchObject({
      ok: true,
      origin: agency.origin,
      size: 7,
      leafIndex: 3,
      issuer: agency.mspId,
      issuedAtMs: ISSUED_AT_MS,
      state: 'EVIDENCE_STATE_ANCHORED',
      anchor: { channel: CHANNEL, transactionId: 'a'.repeat(64), blockNumber: 42 },
      receiptKey: { kid: agency.receiptKey.kid, role: 'receipt' },
      logKey: { kid: agency.logKey.kid, role: 'log' },
      leaf: {
        version: 1,
        org: agency.mspId,
        entry: 'creditRecord',
        creditRecord: { subject: '91330100MA27XK5U3F', kind: 'loan', recordVersion: 4 },
      },
    });
  });

  it('every leaf of trees of 1 to 9 leaves', () => {
    for (let size = 1; size <= 9; size++) {
      const sized = createTestLog(agency, size);
      for (let index = 0; index < size; index++) {
        expect(verifyAttestation(attestationBytes(attest(sized, index)), bundle)).toMatchObject({
          ok: true,
          leafIndex: index,
          size,
        });
      }
    }
  });

  it('a checkpointed attestation not yet anchored, unless anchoring is required', () => {
    const checkpointed = resigned(good, agency.receiptKey, { state: 'EVIDENCE_STATE_CHECKPOINTED', anchor: null });
    expect(verifyAttestation(checkpointed, bundle)).toMatchObject({
      ok: true,
      state: 'EVIDENCE_STATE_CHECKPOINTED',
      anchor: null,
    });
    expect(verifyAttestation(checkpointed, bundle, { requireAnchored: true })).toMatchObject({
      ok: false,
      code: 'NOT_ANCHORED',
    });
  });

  it('the bytes the gRPC layer sends, which are the bytes that were signed', () => {
    const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url));
    const definition = loadSync('lianxin/v1/node.proto', {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [protoDir],
    });
    const notarize = (
      definition['lianxin.v1.NotaryService'] as Record<
        string,
        {
          responseSerialize: (v: object) => Buffer;
          responseDeserialize: (b: Buffer) => { receipt: Attestation__Output };
        }
      >
    ).Notarize;
    if (notarize === undefined) throw new Error('NotaryService.Notarize is not in node.proto');
    const sent = notarize.responseSerialize({ receipt: good });
    const bytes = attestationBytes(good);
    // NotarizeResponse.receipt is field 1, length-delimited: 0x0a, varint length, then the attestation bytes.
    expect(sent.subarray(sent.length - bytes.length)).toEqual(Buffer.from(bytes));
    expect(verifyAttestation(notarize.responseDeserialize(sent).receipt, bundle)).toMatchObject({ ok: true });
  });

  it('a checkpoint signed by a log key rotated after it, and cosignatures by unknown keys', () => {
    const cosigned = `${log.note}${signCheckpoint(agency.origin, 7, log.rootHash, generateTestKey()).split('\n\n')[1] ?? ''}`;
    const attestation = resigned(good, agency.receiptKey, { checkpoint: { ...good.checkpoint, note: cosigned } });
    const rotated = withBundle((draft) => {
      const key = draft.keys.find((k) => k.kid === agency.logKey.kid);
      if (key) Object.assign(key, { status: 'rotated', validUntil: '2026-06-01T00:00:00.000Z' });
    });
    expect(verifyAttestation(attestation, rotated)).toMatchObject({
      ok: true,
      logKey: { kid: agency.logKey.kid, status: 'rotated' },
    });
  });
});

describe('verifyAttestation rejects', () => {
  it('bytes that are not an attestation', () => {
    expect(verifyAttestation(Buffer.from('not protobuf at all \xff\xff\xff'), bundle)).toMatchObject({
      ok: false,
      code: 'BAD_FORMAT',
    });
    expect(verifyAttestation(Buffer.alloc(0), bundle)).toMatchObject({
      ok: false,
      code: 'BAD_FORMAT',
      field: 'format',
    });
  });

  it('a second signature field appended to the bytes', () => {
    const bytes = Buffer.from(attestationBytes(good));
    const signatureField = bytes.subarray(attestationBytes({ ...good, signature: null }).length);
    expect(signatureField[0]).toBe((9 << 3) | 2);
    expect(verifyAttestation(Buffer.concat([bytes, signatureField]), bundle)).toMatchObject({
      ok: false,
      code: 'BAD_FORMAT',
      field: 'signature',
    });
  });

  it('an attestation whose state cannot carry a checkpoint, or whose parsed checkpoint fields contradict the note', () => {
    expect(
      verifyAttestation(resigned(good, agency.receiptKey, { state: 'EVIDENCE_STATE_PENDING' }), bundle),
    ).toMatchObject({ code: 'BAD_FORMAT', field: 'state' });
    expect(verifyAttestation(resigned(good, agency.receiptKey, { anchor: null }), bundle)).toMatchObject({
      code: 'BAD_FORMAT',
      field: 'anchor',
    });
    const contradicting: [Partial<NonNullable<Attestation__Output['checkpoint']>>, string][] = [
      [{ size: 8 }, 'checkpoint.size'],
      [{ origin: `lianxin/${bank.mspId}/main` }, 'checkpoint.origin'],
      [{ rootHash: Buffer.alloc(32, 1) }, 'checkpoint.rootHash'],
    ];
    for (const [change, field] of contradicting) {
      const lying = resigned(good, agency.receiptKey, { checkpoint: { ...good.checkpoint, ...change } });
      expect(verifyAttestation(lying, bundle)).toMatchObject({ code: 'BAD_FORMAT', field });
    }
  });

  it('another format version or leaf version', () => {
    const v3 = { ...good, format: 'lianxin-attestation/v3' };
    expect(verifyAttestation(v3, bundle)).toMatchObject({ ok: false, code: 'UNSUPPORTED_FORMAT', field: 'format' });
    const leaf = encodeLogLeaf({ ...creditRecordLeaf(agency.mspId, 3), version: 2 });
    expect(verifyAttestation(resigned(good, agency.receiptKey, { leaf }), bundle)).toMatchObject({
      code: 'UNSUPPORTED_FORMAT',
      field: 'leaf',
    });
  });

  it('an issuer that is not in the bundle, or suspended', () => {
    expect(verifyAttestation(resigned(good, agency.receiptKey, { issuer: 'NanjingAgencyMSP' }), bundle)).toMatchObject({
      code: 'UNKNOWN_ISSUER',
      field: 'issuer',
    });
    const suspended = withBundle((draft) => {
      const org = draft.organizations.find((o) => o.mspId === agency.mspId);
      if (org) org.status = 'suspended';
    });
    expect(verifyAttestation(good, suspended)).toMatchObject({ code: 'ISSUER_SUSPENDED' });
  });

  it("a signature by an unregistered key, by another organisation's key, or by a key of another role", () => {
    const stranger = generateTestKey();
    expect(verifyAttestation(signAttestation(unsignedAttestation(log, 3), stranger), bundle)).toMatchObject({
      code: 'UNKNOWN_KEY',
      field: 'signature.kid',
    });
    expect(verifyAttestation(signAttestation(unsignedAttestation(log, 3), bank.receiptKey), bundle)).toMatchObject({
      code: 'UNKNOWN_KEY',
    });
    expect(verifyAttestation(signAttestation(unsignedAttestation(log, 3), agency.logKey), bundle)).toMatchObject({
      code: 'UNKNOWN_KEY',
      reason: expect.stringContaining('is a log key, not a receipt key') as string,
    });
  });

  it('a receipt key whose window ended before the issue time, or that was revoked before it', () => {
    const closeReceiptKey = (status: 'active' | 'revoked') =>
      withBundle((draft) => {
        const key = draft.keys.find((k) => k.kid === agency.receiptKey.kid);
        if (key) Object.assign(key, { status, validUntil: '2026-11-23T11:59:59.999Z' });
      });
    expect(verifyAttestation(good, closeReceiptKey('active'))).toMatchObject({
      code: 'KEY_NOT_VALID_AT_TIME',
      field: 'issuedAtMs',
    });
    expect(verifyAttestation(good, closeReceiptKey('revoked'))).toMatchObject({ code: 'KEY_REVOKED' });
    const early = resigned(good, agency.receiptKey, { issuedAtMs: Date.parse('2025-12-31T23:59:59Z') });
    expect(verifyAttestation(early, bundle)).toMatchObject({ code: 'KEY_NOT_VALID_AT_TIME' });
  });

  it('a checkpoint signed by a log key revoked before the issue time', () => {
    const revoked = withBundle((draft) => {
      const key = draft.keys.find((k) => k.kid === agency.logKey.kid);
      if (key) Object.assign(key, { status: 'revoked', validUntil: '2026-11-22T00:00:00.000Z' });
    });
    expect(verifyAttestation(good, revoked)).toMatchObject({
      code: 'KEY_REVOKED',
      reason: expect.stringContaining('log key') as string,
    });
  });

  it("an issue time in the verifier's future", () => {
    expect(verifyAttestation(good, bundle, { now: ISSUED_AT_MS - 10 * 60 * 1000 })).toMatchObject({
      code: 'ISSUED_IN_FUTURE',
    });
    expect(verifyAttestation(good, bundle, { now: new Date(ISSUED_AT_MS - 60 * 1000) })).toMatchObject({ ok: true });
  });

  it('no verdict against an invalid clock, which would turn the issue-time check off', () => {
    for (const now of [new Date('not a time'), Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => verifyAttestation(good, bundle, { now })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', field: 'now' }),
      );
    }
  });

  it('a changed node signature, a high-S one, and a changed leaf that was not re-signed', () => {
    const signature = good.signature?.signature ?? Buffer.alloc(0);
    const flipped = {
      ...good,
      signature: {
        kid: agency.receiptKey.kid,
        suite: 'ecdsa-p256-sha256',
        signature: flipByte(signature, signature.length - 1),
      },
    };
    expect(verifyAttestation(flipped, bundle)).toMatchObject({
      code: 'BAD_NODE_SIGNATURE',
      field: 'signature.signature',
    });
    const { r, s } = decodeDerSignature(signature);
    const highS = {
      ...good,
      signature: {
        kid: agency.receiptKey.kid,
        suite: 'ecdsa-p256-sha256',
        signature: Buffer.from(encodeDerSignature({ r, s: P256_N - s })),
      },
    };
    expect(verifyAttestation(highS, bundle)).toMatchObject({
      code: 'BAD_NODE_SIGNATURE',
      reason: expect.stringContaining('Invalid S') as string,
    });
    expect(verifyAttestation({ ...good, leaf: flipByte(good.leaf, good.leaf.length - 1) }, bundle)).toMatchObject({
      code: 'BAD_NODE_SIGNATURE',
    });
  });

  it('a leaf byte changed and re-signed: the proof no longer reaches the root', () => {
    const leaf = flipByte(good.leaf, good.leaf.length - 1);
    expect(decodeLogLeaf(leaf).org).toBe(agency.mspId);
    expect(verifyAttestation(resigned(good, agency.receiptKey, { leaf }), bundle)).toMatchObject({
      code: 'BAD_INCLUSION_PROOF',
      field: 'inclusion',
    });
  });

  it('a changed, missing or extra proof hash, and a proof for another tree size', () => {
    const inclusion = good.inclusion ?? { leafIndex: 0, treeSize: 0, hashes: [] };
    const [first, ...rest] = inclusion.hashes;
    const variants = [
      [flipByte(first ?? Buffer.alloc(32), 0), ...rest],
      rest,
      [...inclusion.hashes, Buffer.alloc(32)],
      [Buffer.alloc(31), ...rest],
    ];
    for (const hashes of variants) {
      expect(
        verifyAttestation(resigned(good, agency.receiptKey, { inclusion: { ...inclusion, hashes } }), bundle),
      ).toMatchObject({ code: 'BAD_INCLUSION_PROOF' });
    }
    const otherSize = resigned(good, agency.receiptKey, { inclusion: { ...inclusion, treeSize: 8 } });
    expect(verifyAttestation(otherSize, bundle)).toMatchObject({
      code: 'BAD_INCLUSION_PROOF',
      field: 'inclusion.treeSize',
    });
  });

  it('a checkpoint whose root was changed under its signature', () => {
    const rootHash = flipByte(log.rootHash, 0);
    const [, signatures] = log.note.split('\n\n');
    const note = `${agency.origin}\n7\n${rootHash.toString('base64')}\n\n${signatures ?? ''}`;
    const attestation = resigned(good, agency.receiptKey, {
      checkpoint: { note, origin: agency.origin, size: 7, rootHash },
    });
    expect(verifyAttestation(attestation, bundle)).toMatchObject({
      code: 'BAD_CHECKPOINT_SIGNATURE',
      field: 'checkpoint.note',
    });
  });

  it("a checkpoint signed by another organisation's log key or by the issuer's receipt key", () => {
    for (const signer of [bank.logKey, agency.receiptKey]) {
      const note = signCheckpoint(agency.origin, 7, log.rootHash, signer);
      const attestation = resigned(good, agency.receiptKey, { checkpoint: { ...good.checkpoint, note } });
      expect(verifyAttestation(attestation, bundle)).toMatchObject({ code: 'BAD_CHECKPOINT_SIGNATURE' });
    }
  });

  it('a log origin that is not registered', () => {
    const origin = `lianxin/${agency.mspId}/unregistered`;
    const note = signCheckpoint(origin, 7, log.rootHash, agency.logKey);
    const attestation = resigned(good, agency.receiptKey, {
      checkpoint: { note, origin, size: 7, rootHash: log.rootHash },
    });
    expect(verifyAttestation(attestation, bundle)).toMatchObject({
      code: 'ORIGIN_NOT_REGISTERED',
      field: 'checkpoint.note',
    });
  });

  it('a log origin of another organisation, and a leaf of another organisation', () => {
    const bankLog = createTestLog(bank, 7);
    const foreign = signAttestation({ ...unsignedAttestation(bankLog, 3), issuer: agency.mspId }, agency.receiptKey);
    expect(verifyAttestation(foreign, bundle)).toMatchObject({
      code: 'ORIGIN_NOT_OWNED',
      reason: expect.stringContaining(bank.mspId) as string,
    });
    const leaf = encodeLogLeaf(creditRecordLeaf(bank.mspId, 3));
    expect(verifyAttestation(resigned(good, agency.receiptKey, { leaf }), bundle)).toMatchObject({
      code: 'ORIGIN_NOT_OWNED',
      field: 'leaf',
    });
  });

  it("a leaf of another organisation fails the leaf-hash step, which checks that it is the issuer's", () => {
    const leaf = encodeLogLeaf(creditRecordLeaf(bank.mspId, 3));
    const { steps } = explainAttestation(attestationBytes(resigned(good, agency.receiptKey, { leaf })), bundle);
    expect(steps.filter((s) => s.status !== 'passed').map((s) => [s.id, s.status, s.code])).toEqual([
      ['leaf-hash', 'failed', 'ORIGIN_NOT_OWNED'],
      ['checkpoint-signature', 'not-reached', undefined],
      ['inclusion-proof', 'not-reached', undefined],
      ['anchor', 'not-reached', undefined],
      ['artifact', 'not-requested', undefined],
    ]);
  });

  it('an anchor on another channel', () => {
    const attestation = resigned(good, agency.receiptKey, { anchor: { ...good.anchor, channel: 'other' } });
    expect(verifyAttestation(attestation, bundle)).toMatchObject({ code: 'WRONG_CHANNEL', field: 'anchor.channel' });
  });
});

describe('committedDigest', () => {
  it('names what a leaf commits to, and refuses a leaf with no entry rather than answer an empty digest', () => {
    const leaf = decodeLogLeaf(encodeLogLeaf(creditRecordLeaf(agency.mspId, 1)));
    expect(committedDigest(leaf).what).toBe('record');
    expect(() => committedDigest({ ...leaf, entry: undefined, creditRecord: null })).toThrow(
      expect.objectContaining({ code: 'MALFORMED_ATTESTATION', field: 'leaf' }),
    );
  });
});
