/**
 * ReportService.ProveAccess against typed fakes of the journal and the attestation builder: the receipt digest is
 * checked, an exchange the node did not complete is NOT_FOUND, a leaf not yet logged or anchored is
 * FAILED_PRECONDITION with a retry hint, and an anchored one gives the bundle and the attestation's bytes as signed.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import { attest, createTestLog, createTestOrg } from '../receipts/test-fixtures.ts';
import { attestationBytes } from '../receipts/index.ts';
import { callContext } from '../services/test-node-parts.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import { createReportService } from './report-service.ts';

const BANK = 'ShanghaiBankMSP';
const ctx = callContext(BANK, 'bank');
const envelope = () => ({ body: randomBytes(40), signature: { kid: 'k', suite: 's', signature: randomBytes(64) } });
const bundle = { request: envelope(), receipt: envelope(), acknowledgement: envelope() } as unknown as ExchangeBundle;

function service(stored: { bundle?: ExchangeBundle; leaf?: number }, attestation: Attestation__Output) {
  return createReportService({
    mspId: BANK,
    requester: {
      newRequest: () => {
        throw new Error('not used');
      },
      signRequest: () => {
        throw new Error('not used');
      },
      exchange: () => Promise.reject(new Error('not used')),
    },
    index: { getIndexRecord: () => Promise.resolve(undefined) },
    chain: { getOrigin: () => Promise.resolve(undefined) },
    journal: { bundle: () => Promise.resolve(stored.bundle), accessLeaf: () => Promise.resolve(stored.leaf) },
    attestations: { attest: () => Promise.resolve(attestation) },
    unanchoredRetryAfterMs: 1_000,
  });
}

describe('ReportService.ProveAccess', () => {
  it('answers the bundle and the anchored attestation, and refuses what it cannot prove yet or at all', async () => {
    const log = createTestLog(await createTestOrg(BANK, 'bank'), 2);
    const anchored = attest(log, 1);
    const digest = randomBytes(32);
    const proof = await service({ bundle, leaf: 1 }, anchored).ProveAccess({ receiptDigest: digest }, ctx);
    expect(Buffer.from(proof.accessAttestation ?? [])).toEqual(Buffer.from(attestationBytes(anchored)));
    expect(proof.bundle?.acknowledgement?.body).toEqual(bundle.acknowledgement?.body);

    const checkpointed = { ...anchored, anchor: null, state: 'EVIDENCE_STATE_CHECKPOINTED' as const };
    await expect(
      service({ bundle, leaf: 1 }, checkpointed).ProveAccess({ receiptDigest: digest }, ctx),
    ).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', retryAfterMs: 1_000 });
    // Acknowledged, its access leaf still being appended.
    await expect(service({ bundle }, anchored).ProveAccess({ receiptDigest: digest }, ctx)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      retryAfterMs: 1_000,
    });
    await expect(service({}, anchored).ProveAccess({ receiptDigest: digest }, ctx)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      service({ bundle, leaf: 1 }, anchored).ProveAccess({ receiptDigest: digest.subarray(1) }, ctx),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'receipt_digest' });
  });
});
