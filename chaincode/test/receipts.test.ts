import { describe, expect, it } from 'vitest';
import { client, createConsortium, digest, MSP, operatorAdmin, USCC, type Harness } from './fixtures';

interface Page { items: Array<{ receiptDigest: string; accessedAt: string }>; bookmark: string }

async function withConsent() {
  const world = await createConsortium();
  // Recorded when it starts, before the accesses (May); the receipts are recorded in June.
  world.h.ledger.now = Date.parse('2026-03-01T00:00:00Z');
  const { result } = await world.h.tx(client(MSP.agency), (c, ctx) =>
    c.GrantConsent(ctx, USCC.icbc, MSP.bank, 'CREDIT_LOAN', '["*"]', '2026-03-01T00:00:00Z', '2026-09-01T00:00:00Z', digest('auth')));
  world.h.ledger.now = Date.parse('2026-06-01T00:00:00Z');
  return { ...world, consentId: result.consentId as string };
}

const record = (h: Harness, consentId: string, n: number, accessedAt: string, who = client(MSP.bank), subject: string = USCC.icbc) =>
  h.tx(who, (c, ctx) => c.RecordAccessReceipt(ctx, digest(`receipt ${n}`), MSP.bank, MSP.agency, subject, 'CREDIT_LOAN', consentId, accessedAt));

const list = (h: Harness, who: string, by: string, value: string, from = '', to = '', size = '10', bookmark = '') =>
  h.call<Page>(client(who), (c, ctx) => c.ListAccessReceipts(ctx, by, value, from, to, size, bookmark));

describe('access receipts', () => {
  it('records a receipt digest with its parties, consent and time, and emits identifiers only', async () => {
    const { h, consentId } = await withConsent();
    const { result, events, txId } = await record(h, consentId, 1, '2026-05-01T10:00:00Z');
    expect(result).toEqual({
      receiptDigest: digest('receipt 1'), requester: MSP.bank, provider: MSP.agency, subject: USCC.icbc, purpose: 'CREDIT_LOAN', consentId,
      accessedAt: '2026-05-01T10:00:00.000Z', recordedBy: MSP.bank, recordedAt: '2026-06-01T00:00:00.000Z', txId,
    });
    expect(events).toEqual([{ name: 'ReceiptRecorded', payload: { receiptDigest: digest('receipt 1'), txId } }]);
    expect(await h.call(client(MSP.regulator), (c, ctx) => c.GetAccessReceipt(ctx, digest('receipt 1')))).toEqual(result);
    expect(await h.call(client(MSP.agency), (c, ctx) => c.GetAccessReceipt(ctx, digest('receipt 1')))).toEqual(result);
    await h.rejects(client(MSP.agency2), (c, ctx) => c.GetAccessReceipt(ctx, digest('receipt 1')), 'FORBIDDEN');
    await h.rejects(client(MSP.regulator), (c, ctx) => c.GetAccessReceipt(ctx, digest('none')), 'RECEIPT_NOT_FOUND');
  });

  it('is idempotent when the other party records the same receipt, and conflicts on different details', async () => {
    const { h, consentId } = await withConsent();
    const first = await record(h, consentId, 1, '2026-05-01T10:00:00Z');
    const again = await record(h, consentId, 1, '2026-05-01T10:00:00Z', client(MSP.agency));
    expect(again.result).toEqual(first.result);
    expect(again.writes).toBe(0);
    await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, digest('receipt 1'), MSP.bank, MSP.agency, USCC.icbc, 'CREDIT_LOAN', consentId, '2026-05-02T10:00:00Z'), 'RECEIPT_CONFLICT');
  });

  it('requires the caller to be a party and the consent to cover the access', async () => {
    const { h, consentId } = await withConsent();
    await h.rejects(client(MSP.agency2), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r'), MSP.bank, MSP.agency, USCC.icbc, 'CREDIT_LOAN', consentId, '2026-05-01T10:00:00Z'), 'FORBIDDEN');
    await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r'), MSP.bank, MSP.agency, USCC.icbc, 'MARKETING', consentId, '2026-05-01T10:00:00Z'), 'RECEIPT_CONSENT_MISMATCH');
    await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r'), MSP.bank, MSP.agency, USCC.huawei, 'CREDIT_LOAN', consentId, '2026-05-01T10:00:00Z'), 'RECEIPT_CONSENT_MISMATCH');
    await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r'), MSP.bank, MSP.agency, USCC.icbc, 'CREDIT_LOAN', consentId, '2026-02-01T10:00:00Z'), 'RECEIPT_CONSENT_MISMATCH');
    await h.rejects(client(MSP.agency2), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r'), MSP.agency2, MSP.agency, USCC.icbc, 'CREDIT_LOAN', consentId, '2026-05-01T10:00:00Z'), 'RECEIPT_CONSENT_MISMATCH');
    await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r'), MSP.bank, MSP.agency, USCC.icbc, 'CREDIT_LOAN', digest('no consent'), '2026-05-01T10:00:00Z'), 'CONSENT_NOT_FOUND');
    await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r'), MSP.bank, 'GhostMSP', USCC.icbc, 'CREDIT_LOAN', consentId, '2026-05-01T10:00:00Z'), 'ORG_NOT_FOUND');
    await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r'), MSP.bank, MSP.agency, '9110000010000396', 'CREDIT_LOAN', consentId, '2026-05-01T10:00:00Z'), 'INVALID_USCC');
  });

  it('refuses an access before its consent was recorded, whatever validFrom the consent states', async () => {
    // The consent is recorded in June, valid "from March": an access in May was under no consent.
    const world = await createConsortium();
    const { h } = world;
    h.ledger.now = Date.parse('2026-06-01T00:00:00Z');
    const { result } = await h.tx(client(MSP.agency), (c, ctx) =>
      c.GrantConsent(ctx, USCC.icbc, MSP.bank, 'CREDIT_LOAN', '["*"]', '2026-03-01T00:00:00Z', '2026-09-01T00:00:00Z', digest('auth')));
    const consentId = result.consentId as string;
    const err = await h.rejects(client(MSP.agency), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r'), MSP.bank, MSP.agency, USCC.icbc, 'CREDIT_LOAN', consentId, '2026-05-01T10:00:00Z'), 'RECEIPT_CONSENT_MISMATCH');
    expect(err.message).toContain('was recorded at 2026-06-01T00:00:00.000Z, after the access');
    // Within the clock skew the institutions' clocks may have (5 minutes), the access stands.
    expect((await record(h, consentId, 1, '2026-05-31T23:55:00Z')).result).toMatchObject({ consentId });
    await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, digest('r2'), MSP.bank, MSP.agency, USCC.icbc, 'CREDIT_LOAN', consentId, '2026-05-31T23:54:59.999Z'), 'RECEIPT_CONSENT_MISMATCH');
  });

  it('answers a receipt recorded already before judging its consent: its other party is not refused for good', async () => {
    // A receipt chaincode 0.3 recorded under a consent recorded after the access (0.3 did not compare grantedAt).
    const { h, consentId } = await withConsent();
    await record(h, consentId, 1, '2026-05-01T10:00:00Z');
    for (const [key, value] of h.ledger.state) {
      if (!key.includes(consentId)) continue;
      const stored = JSON.parse(value.toString('utf8')) as { grantedAt?: string };
      if (stored.grantedAt !== undefined) h.ledger.state.set(key, Buffer.from(JSON.stringify({ ...stored, grantedAt: '2026-06-01T00:00:00.000Z' })));
    }
    await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, digest('receipt 2'), MSP.bank, MSP.agency, USCC.icbc, 'CREDIT_LOAN', consentId, '2026-05-01T10:00:00Z'), 'RECEIPT_CONSENT_MISMATCH');
    expect((await record(h, consentId, 1, '2026-05-01T10:00:00Z', client(MSP.agency))).result).toMatchObject({ recordedBy: MSP.bank });
  });

  it('records a receipt for a consent granted while the registry was lenient, after SetUsccMode strict', async () => {
    // The consent on chain admitted the code then; the exchange it authorises goes ahead, so its receipt must land.
    const world = await createConsortium();
    const { h } = world;
    h.ledger.now = Date.parse('2026-03-01T00:00:00Z');
    await h.call(operatorAdmin, (c, ctx) => c.SetUsccMode(ctx, 'lenient'));
    const { result } = await h.tx(client(MSP.agency), (c, ctx) =>
      c.GrantConsent(ctx, USCC.legacy, MSP.bank, 'CREDIT_LOAN', '["*"]', '2026-03-01T00:00:00Z', '2026-09-01T00:00:00Z', digest('auth')));
    h.ledger.now = Date.parse('2026-06-01T00:00:00Z');
    await h.call(operatorAdmin, (c, ctx) => c.SetUsccMode(ctx, 'strict'));
    const recorded = await record(h, result.consentId as string, 1, '2026-05-01T10:00:00Z', client(MSP.bank), USCC.legacy);
    expect(recorded.result).toMatchObject({ subject: USCC.legacy, consentId: result.consentId });
  });

  it.each([
    ['receiptDigest', 'x', MSP.bank, MSP.agency, 'CREDIT_LOAN', '2026-05-01T10:00:00Z'],
    ['requester', digest('r'), 'bad msp', MSP.agency, 'CREDIT_LOAN', '2026-05-01T10:00:00Z'],
    ['provider', digest('r'), MSP.bank, MSP.bank, 'CREDIT_LOAN', '2026-05-01T10:00:00Z'],
    ['purpose', digest('r'), MSP.bank, MSP.agency, '', '2026-05-01T10:00:00Z'],
    ['accessedAt', digest('r'), MSP.bank, MSP.agency, 'CREDIT_LOAN', '1 May'],
    ['accessedAt', digest('r'), MSP.bank, MSP.agency, 'CREDIT_LOAN', '2026-07-01T00:00:00Z'],
  ])('validates "%s"', async (field, receiptDigest, requester, provider, purpose, at) => {
    const { h, consentId } = await withConsent();
    const err = await h.rejects(client(MSP.bank), (c, ctx) => c.RecordAccessReceipt(ctx, receiptDigest, requester, provider, USCC.icbc, purpose, consentId, at), 'INVALID_ARGUMENT');
    expect(err.message).toContain(`"${field}"`);
  });

  it('lists by subject, requester, provider and time window in time order, page by page', async () => {
    const { h, consentId } = await withConsent();
    const times = ['2026-05-03T00:00:00Z', '2026-05-01T00:00:00Z', '2026-05-05T00:00:00Z', '2026-05-02T00:00:00Z', '2026-05-04T00:00:00Z'];
    for (const [i, t] of times.entries()) await record(h, consentId, i, t);
    const day = (d: number) => `2026-05-0${d}T00:00:00.000Z`;

    const all = await list(h, MSP.regulator, 'subject', USCC.icbc);
    expect(all.items.map((r) => r.accessedAt)).toEqual([1, 2, 3, 4, 5].map(day));
    expect(all.bookmark).toBe('');

    const window = await list(h, MSP.regulator, 'time', '', '2026-05-02T00:00:00Z', '2026-05-05T00:00:00Z', '2');
    expect(window.items.map((r) => r.accessedAt)).toEqual([2, 3].map(day));
    const rest = await list(h, MSP.regulator, 'time', '', '2026-05-02T00:00:00Z', '2026-05-05T00:00:00Z', '2', window.bookmark);
    expect(rest.items.map((r) => r.accessedAt)).toEqual([4].map(day));
    expect(rest.bookmark).toBe('');

    expect((await list(h, MSP.bank, 'requester', MSP.bank, '2026-05-04T00:00:00Z')).items.map((r) => r.accessedAt)).toEqual([4, 5].map(day));
    expect((await list(h, MSP.agency, 'provider', MSP.agency, '', '2026-05-02T00:00:00Z')).items.map((r) => r.accessedAt)).toEqual([1].map(day));
    expect((await list(h, MSP.regulator, 'provider', MSP.agency2)).items).toEqual([]);
  });

  it('restricts listings to the regulator, or to an institution for its own receipts', async () => {
    const { h } = await withConsent();
    await h.rejects(client(MSP.bank), (c, ctx) => c.ListAccessReceipts(ctx, 'subject', USCC.icbc, '', '', '10', ''), 'FORBIDDEN');
    await h.rejects(client(MSP.bank), (c, ctx) => c.ListAccessReceipts(ctx, 'time', '', '', '', '10', ''), 'FORBIDDEN');
    await h.rejects(client(MSP.bank), (c, ctx) => c.ListAccessReceipts(ctx, 'provider', MSP.agency, '', '', '10', ''), 'FORBIDDEN');
    await h.rejects(client(MSP.regulator), (c, ctx) => c.ListAccessReceipts(ctx, 'city', '', '', '', '10', ''), 'INVALID_ARGUMENT');
    await h.rejects(client(MSP.regulator), (c, ctx) => c.ListAccessReceipts(ctx, 'time', '', 'now', '', '10', ''), 'INVALID_ARGUMENT');
    await h.rejects(client(MSP.regulator), (c, ctx) => c.ListAccessReceipts(ctx, 'time', '', '', '', '10', Buffer.from('elsewhere').toString('base64')), 'INVALID_ARGUMENT');
  });
});
