import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTrustBundle } from './trust-bundle.ts';
import { verifyAttestation } from './verify.ts';

const read = (name: string) => readFileSync(new URL(`testdata/${name}`, import.meta.url));
const bundle = parseTrustBundle(read('trust-bundle.v1.json').toString('utf8'));

describe('golden v1 attestations (testdata/README.md)', () => {
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
