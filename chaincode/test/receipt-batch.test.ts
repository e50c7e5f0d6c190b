import { describe, expect, it } from 'vitest';
import { client, createConsortium, digest, MSP, USCC } from './fixtures';

async function withConsent() {
  const world = await createConsortium();
  // Recorded when it starts, before the accesses (May); the receipts are recorded in June.
  world.h.ledger.now = Date.parse('2026-03-01T00:00:00Z');
  const { result } = await world.h.tx(client(MSP.agency), (c, ctx) =>
    c.GrantConsent(ctx, USCC.icbc, MSP.bank, 'CREDIT_LOAN', '["*"]', '2026-03-01T00:00:00Z', '2026-09-01T00:00:00Z', digest('auth')));
  world.h.ledger.now = Date.parse('2026-06-01T00:00:00Z');
  return { ...world, consentId: result.consentId as string };
}

const receipt = (consentId: string, n: number, overrides: Record<string, unknown> = {}) => ({
  receiptDigest: digest(`receipt ${n}`), requester: MSP.bank, provider: MSP.agency, subject: USCC.icbc, purpose: 'CREDIT_LOAN', consentId,
  accessedAt: `2026-05-0${(n % 9) + 1}T10:00:00Z`, ...overrides,
});

describe('access receipts in batches', () => {
  it('records every receipt of the batch as RecordAccessReceipt would, with one event listing them', async () => {
    const { h, consentId } = await withConsent();
    const batch = [1, 2, 3].map((n) => receipt(consentId, n));
    const { result, events, txId } = await h.tx(client(MSP.agency), (c, ctx) => c.RecordAccessReceipts(ctx, JSON.stringify(batch)));
    expect((result as unknown as Array<{ receiptDigest: string; txId: string }>).map((r) => [r.receiptDigest, r.txId])).toEqual(batch.map((r) => [r.receiptDigest, txId]));
    expect(events).toEqual([{ name: 'ReceiptsRecorded', payload: { receiptDigests: batch.map((r) => r.receiptDigest), txId } }]);
    for (const r of batch) {
      expect(await h.call(client(MSP.regulator), (c, ctx) => c.GetAccessReceipt(ctx, r.receiptDigest))).toMatchObject({
        receiptDigest: r.receiptDigest, requester: MSP.bank, provider: MSP.agency, recordedBy: MSP.agency, txId,
      });
    }
  });

  it('is idempotent for receipts recorded before, and lists only the new ones in its event', async () => {
    const { h, consentId } = await withConsent();
    await h.tx(client(MSP.agency), (c, ctx) => c.RecordAccessReceipts(ctx, JSON.stringify([receipt(consentId, 1)])));
    const { events, txId } = await h.tx(client(MSP.agency), (c, ctx) =>
      c.RecordAccessReceipts(ctx, JSON.stringify([receipt(consentId, 1), receipt(consentId, 2)])));
    expect(events).toEqual([{ name: 'ReceiptsRecorded', payload: { receiptDigests: [digest('receipt 2')], txId } }]);
  });

  it('records none when one receipt is refused, and names it', async () => {
    const { h, consentId } = await withConsent();
    const batch = [receipt(consentId, 1), receipt(consentId, 2, { purpose: 'MARKETING' })];
    const err = await h.rejects(client(MSP.agency), (c, ctx) => c.RecordAccessReceipts(ctx, JSON.stringify(batch)), 'RECEIPT_CONSENT_MISMATCH');
    expect(err.message).toContain('receipts[1]:');
    await h.rejects(client(MSP.regulator), (c, ctx) => c.GetAccessReceipt(ctx, digest('receipt 1')), 'RECEIPT_NOT_FOUND');
  });

  it.each([
    ['receipts', 'not json'],
    ['receipts', '[]'],
    ['receipts', JSON.stringify(Array.from({ length: 101 }, () => ({})))],
    ['receipts[0]', '[1]'],
    ['receipts[0].requester', JSON.stringify([{ receiptDigest: digest('r') }])],
    ['receipts[0].extra', JSON.stringify([{ extra: 1 }])],
  ])('validates "%s"', async (field, json) => {
    const { h } = await withConsent();
    const err = await h.rejects(client(MSP.agency), (c, ctx) => c.RecordAccessReceipts(ctx, json), 'INVALID_ARGUMENT');
    expect(err.message).toContain(`"${field}"`);
  });

  it('refuses the same digest twice in one batch, which the transaction could not see it had written', async () => {
    const { h, consentId } = await withConsent();
    const err = await h.rejects(client(MSP.agency), (c, ctx) =>
      c.RecordAccessReceipts(ctx, JSON.stringify([receipt(consentId, 1), receipt(consentId, 1)])), 'INVALID_ARGUMENT');
    expect(err.message).toContain('"receipts[1].receiptDigest"');
  });

  it('requires the caller to be a party to every receipt', async () => {
    const { h, consentId } = await withConsent();
    await h.rejects(client(MSP.agency2), (c, ctx) => c.RecordAccessReceipts(ctx, JSON.stringify([receipt(consentId, 1)])), 'FORBIDDEN');
  });
});
