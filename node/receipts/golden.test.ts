import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeAccessReceipt, encodeAccessRequest, encodeAcknowledgement } from '../p2p/exchange-messages.ts';
import {
  exchangeSigningInput,
  trustBundleReceiptKeyLookup,
  verifyAccessBundle,
  type SignedMessage,
} from '../verifier/access-bundle-verifier.ts';
import { parseBundleJson } from '../verifier/access-proof-file.ts';
import type { AccessReceipt, AccessRequest, Acknowledgement } from '../verifier/exchange-codec.ts';
import { nobleCrypto } from '../verifier/noble-crypto.ts';
import { nodeCrypto } from '../verifier/node-crypto.ts';
import { parseTrustBundle as parseCoreTrustBundle } from '../verifier/trust-bundle.ts';
import { parseTrustBundle } from './trust-bundle.ts';
import { verifyAttestation } from './verify.ts';

const read = (name: string) => readFileSync(new URL(`testdata/${name}`, import.meta.url));
const bundle = parseTrustBundle(read('trust-bundle.v1.json').toString('utf8'));

describe('golden v1 attestations, signed one by one (testdata/README.md)', () => {
  it('a credit-record attestation keeps verifying', () => {
    expect(verifyAttestation(read('credit-record-attestation.v1.binpb'), bundle)).toMatchObject({
      ok: true,
      issuer: 'HangzhouAgencyMSP',
      origin: 'lianxin/HangzhouAgencyMSP/main',
      size: 5,
      leafIndex: 2,
      issuedAtMs: Date.parse('2026-11-23T12:00:00Z'),
      state: 'EVIDENCE_STATE_ANCHORED',
      anchor: { channel: 'lianxin', chaincode: 'lianxin', blockNumber: 42 },
      leaf: { entry: 'creditRecord', creditRecord: { subject: '91330100MA27XK5U3F', kind: 'loan', recordVersion: 3 } },
      receiptKey: { kid: '75435c792488a29e96c770222a5073a33afbf8419cd6dc8bb220261d5db0746f' },
      logKey: { kid: 'd5f31b6a66d4042867e837cc73a189f3460933a5ddc0ea7b138c281685b87e32' },
    });
  });

  it('a notarization receipt keeps verifying', () => {
    expect(verifyAttestation(read('notarization-receipt.v1.binpb'), bundle)).toMatchObject({
      ok: true,
      issuer: 'SuzhouPlatformMSP',
      origin: 'lianxin/SuzhouPlatformMSP/contracts',
      size: 3,
      leafIndex: 2,
      leaf: {
        entry: 'contract',
        contract: { parties: ['91330100MA27XK5U3F', 'ShanghaiBankMSP'], labels: { contract_type: 'purchase' } },
      },
      receiptKey: { kid: '41c8eba8129a73995150b21c6004ccd872faef063b550560de2916d4bf885782' },
      logKey: { kid: '4a3581893562fed97ba9f5d6a96014520c0714049c4a533a474477fcb9585622' },
    });
  });

  it("a golden attestation verified against the other issuer's origin fails precisely", () => {
    const other = parseTrustBundle({
      ...bundle.json,
      origins: bundle.json.origins.map((o) => ({
        ...o,
        mspId: o.mspId === 'HangzhouAgencyMSP' ? 'SuzhouPlatformMSP' : 'HangzhouAgencyMSP',
      })),
    });
    expect(verifyAttestation(read('credit-record-attestation.v1.binpb'), other)).toMatchObject({
      ok: false,
      code: 'ORIGIN_NOT_OWNED',
    });
  });
});

describe('golden v2 attestations, signed per batch (testdata/README.md)', () => {
  const bundleV2 = parseTrustBundle(read('trust-bundle.for-attestation-v2.json').toString('utf8'));

  it('a credit-record attestation, the middle one of a batch of 3, keeps verifying', () => {
    expect(verifyAttestation(read('credit-record-attestation.v2.binpb'), bundleV2)).toMatchObject({
      ok: true,
      attestation: { format: 'lianxin-attestation/v2', batch: { index: 1, size: 3 } },
      issuer: 'HangzhouAgencyMSP',
      origin: 'lianxin/HangzhouAgencyMSP/main',
      size: 5,
      leafIndex: 2,
      issuedAtMs: Date.parse('2026-11-23T12:00:00Z'),
      state: 'EVIDENCE_STATE_ANCHORED',
      anchor: { channel: 'lianxin', chaincode: 'lianxin', blockNumber: 42 },
      leaf: { entry: 'creditRecord', creditRecord: { subject: '91330100MA27XK5U3F', kind: 'loan', recordVersion: 3 } },
      receiptKey: { kid: '4279d2be6a0fd019c58398803de208e478a2f0677f4d213274a9ca591be55612' },
      logKey: { kid: '0a1b666f87514d3eb5e8203a3ec38d90032809a1e0bd632f23fed4603e04aba0' },
    });
  });

  it('a notarization receipt, a batch of 1, keeps verifying', () => {
    expect(verifyAttestation(read('notarization-receipt.v2.binpb'), bundleV2)).toMatchObject({
      ok: true,
      attestation: { format: 'lianxin-attestation/v2', batch: { index: 0, size: 1, path: [] } },
      issuer: 'SuzhouPlatformMSP',
      origin: 'lianxin/SuzhouPlatformMSP/contracts',
      size: 3,
      leafIndex: 2,
      leaf: {
        entry: 'contract',
        contract: { parties: ['91330100MA27XK5U3F', 'ShanghaiBankMSP'], labels: { contract_type: 'purchase' } },
      },
      receiptKey: { kid: 'b69c9943b6d37a68d3db0c566b6d4f5041c5a79202825420423f63bdd21b1eef' },
      logKey: { kid: '740910d83f36c51f1254946c46d287a85c8dc5c1e28aa887de5df881c556ef3c' },
    });
  });

  it('a golden v2 attestation with one byte of its batch path changed fails with BAD_BATCH_PROOF', () => {
    const bytes = Buffer.from(read('credit-record-attestation.v2.binpb'));
    const last = bytes.length - 1; // the batch field is last, and its last byte is in the last path hash
    bytes[last] = (bytes[last] ?? 0) ^ 0x01;
    expect(verifyAttestation(bytes, bundleV2)).toMatchObject({ ok: false, code: 'BAD_BATCH_PROOF' });
  });

  it("v1 and v2 golden attestations do not verify with each other's bundle", () => {
    expect(verifyAttestation(read('credit-record-attestation.v2.binpb'), bundle)).toMatchObject({
      ok: false,
      code: 'UNKNOWN_KEY',
    });
    expect(verifyAttestation(read('credit-record-attestation.v1.binpb'), bundleV2)).toMatchObject({
      ok: false,
      code: 'UNKNOWN_KEY',
    });
  });
});

describe('golden access receipt bundle v1, the exchange signatures (testdata/README.md)', () => {
  const json = JSON.parse(read('access-bundle.v1.json').toString('utf8')) as unknown;
  const envelopes = parseBundleJson(json);
  const signingInputs = JSON.parse(read('access-bundle.v1.signing-inputs.json').toString('utf8')) as Record<
    SignedMessage,
    string
  >;
  const trustJson = read('trust-bundle.for-access-bundle-v1.json').toString('utf8');
  const ack = envelopes.acknowledgement;
  if (ack === undefined) throw new Error('the golden bundle has an acknowledgement');
  const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
  const at = Date.parse('2026-12-07T08:00:00Z');
  // The messages as signed, field by field: their encoding must stay byte for byte what was signed.
  const request: AccessRequest = {
    requestId: '1'.repeat(64),
    requester: 'ShanghaiBankMSP',
    provider: 'HangzhouAgencyMSP',
    subject: '91330100MA27XK5U3F',
    kinds: ['loan', 'guarantee'],
    purpose: 'LOAN_APPROVAL',
    consentId: 'c'.repeat(64),
    nonce: hex('00112233445566778899aabbccddeeff'),
    issuedAtMs: at,
    expiresAtMs: at + 60_000,
  };
  const receipt: AccessReceipt = {
    requestId: request.requestId,
    requestDigest: hex('dc0be1e3bc7b630a99e43932b3e33b5fcb3f4adea8bc4e5da96354b228b0434b'),
    provider: 'HangzhouAgencyMSP',
    requester: 'ShanghaiBankMSP',
    subject: request.subject,
    purpose: request.purpose,
    consentId: request.consentId,
    records: [{ kind: 'loan', version: 3, recordDigest: hex('a'.repeat(64)), leafHash: hex('b'.repeat(64)) }],
    reportDigest: hex('d'.repeat(64)),
    issuedAtMs: at + 1500,
  };
  const acknowledgement: Acknowledgement = {
    requestId: request.requestId,
    receiptDigest: hex('4eb7a3c266063045e6a8181a922bacc72771529c5d6b59037874b807775dd871'),
    requester: 'ShanghaiBankMSP',
    status: 'ACCEPTED',
    disputeReason: '',
    issuedAtMs: at + 2000,
  };
  const messages = [
    ['access-request', envelopes.request, encodeAccessRequest(request)],
    ['access-receipt', envelopes.receipt, encodeAccessReceipt(receipt)],
    ['acknowledgement', ack, encodeAcknowledgement(acknowledgement)],
  ] as const;

  it.each(messages)(
    'the %s encodes to the bytes signed, and its signing input is the golden one',
    (name, envelope, encoded) => {
      expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.from(envelope.body).toString('hex'));
      expect(Buffer.from(exchangeSigningInput(nodeCrypto, name, envelope.body)).toString('hex')).toBe(
        signingInputs[name],
      );
    },
  );

  it.each([nodeCrypto, nobleCrypto])('the bundle keeps verifying with $name, with no findings', (crypto) => {
    const keys = trustBundleReceiptKeyLookup(parseCoreTrustBundle(trustJson, crypto));
    expect(verifyAccessBundle(envelopes, keys, crypto)).toMatchObject({
      ok: true,
      findings: [],
      receiptDigest: Buffer.from(acknowledgement.receiptDigest).toString('hex'),
      bundle: { decoded: { request, receipt, acknowledgement } },
    });
  });
});
