import { describe, expect, it } from 'vitest';
import { client, createConsortium, digest, MSP, USCC, type Harness } from './fixtures';

const auth = digest('authorization letter');
const grant = (h: Harness, who = client(MSP.agency), scope = '["loan","tax"]', doc = auth) =>
  h.tx(who, (c, ctx) => c.GrantConsent(ctx, USCC.icbc, MSP.bank, 'CREDIT_LOAN', scope, '2026-03-01T00:00:00Z', '2026-09-01T00:00:00Z', doc));
const check = (h: Harness, kind: string, at: string, purpose = 'CREDIT_LOAN', grantee: string = MSP.bank) =>
  h.call(client(MSP.bank), (c, ctx) => c.IsConsentValid(ctx, USCC.icbc, grantee, purpose, kind, at));

describe('consents', () => {
  it('grants a consent under an ID derived from subject, grantee and document', async () => {
    const { h } = await createConsortium();
    const { result, events, txId } = await grant(h);
    expect(result).toMatchObject({
      subject: USCC.icbc, grantee: MSP.bank, purpose: 'CREDIT_LOAN', scope: ['loan', 'tax'], validFrom: '2026-03-01T00:00:00.000Z',
      validUntil: '2026-09-01T00:00:00.000Z', authorizationDigest: auth, recordedBy: MSP.agency, status: 'active', revokedAt: null, txId,
    });
    const consentId = result.consentId as string;
    expect(events).toEqual([{ name: 'ConsentChanged', payload: { consentId, action: 'granted', txId } }]);
    expect(await h.call(client(MSP.regulator), (c, ctx) => c.GetConsent(ctx, consentId))).toEqual(result);
    await h.rejects(client(MSP.agency), (c, ctx) => c.GrantConsent(ctx, USCC.icbc, MSP.bank, 'CREDIT_LOAN', '["loan"]', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', auth), 'CONSENT_EXISTS');
    const page = await h.call<{ items: Array<{ consentId: string }> }>(client(MSP.regulator), (c, ctx) => c.ListConsentsBySubject(ctx, USCC.icbc, '10', ''));
    expect(page.items.map((i) => i.consentId)).toEqual([consentId]);
  });

  it('answers IsConsentValid by purpose, kind and time, including the "*" scope', async () => {
    const { h } = await createConsortium();
    const { result } = await grant(h);
    expect(await check(h, 'loan', '2026-05-01T00:00:00Z')).toEqual({ valid: true, consentId: result.consentId });
    expect(await check(h, 'loan', '')).toEqual({ valid: true, consentId: result.consentId });
    expect(await check(h, 'judgment', '2026-05-01T00:00:00Z')).toEqual({ valid: false, consentId: null });
    expect(await check(h, 'loan', '2026-05-01T00:00:00Z', 'MARKETING')).toEqual({ valid: false, consentId: null });
    expect(await check(h, 'loan', '2026-02-28T23:59:59Z')).toEqual({ valid: false, consentId: null });
    expect(await check(h, 'loan', '2026-09-01T00:00:00Z')).toEqual({ valid: false, consentId: null });
    expect(await check(h, 'loan', '2026-05-01T00:00:00Z', 'CREDIT_LOAN', MSP.agency2)).toEqual({ valid: false, consentId: null });
    const all = await grant(h, client(MSP.agency), '["*"]', digest('second letter'));
    expect(await check(h, 'judgment', '2026-05-01T00:00:00Z')).toEqual({ valid: true, consentId: all.result.consentId });
  });

  it('revokes from now on: valid before the revocation, invalid after', async () => {
    const { h } = await createConsortium();
    const { result } = await grant(h);
    const consentId = result.consentId as string;
    h.ledger.now = Date.parse('2026-04-01T00:00:00Z');
    await h.rejects(client(MSP.agency2), (c, ctx) => c.RevokeConsent(ctx, consentId), 'FORBIDDEN');
    const revoked = await h.tx(client(MSP.bank), (c, ctx) => c.RevokeConsent(ctx, consentId));
    expect(revoked.result).toMatchObject({ status: 'revoked', revokedAt: '2026-04-01T00:00:00.000Z', revokedBy: MSP.bank });
    expect(revoked.events).toEqual([{ name: 'ConsentChanged', payload: { consentId, action: 'revoked', txId: revoked.txId } }]);
    expect(await check(h, 'loan', '2026-03-15T00:00:00Z')).toMatchObject({ valid: true });
    expect(await check(h, 'loan', '2026-04-02T00:00:00Z')).toMatchObject({ valid: false });
    await h.rejects(client(MSP.agency), (c, ctx) => c.RevokeConsent(ctx, consentId), 'CONSENT_REVOKED');
    await h.rejects(client(MSP.agency), (c, ctx) => c.RevokeConsent(ctx, digest('unknown')), 'CONSENT_NOT_FOUND');
  });

  it.each([
    ['grantee', USCC.icbc, 'bad msp!', 'CREDIT_LOAN', '["loan"]', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', auth],
    ['purpose', USCC.icbc, MSP.bank, 'credit', '["loan"]', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', auth],
    ['scope', USCC.icbc, MSP.bank, 'CREDIT_LOAN', '[]', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', auth],
    ['scope[1]', USCC.icbc, MSP.bank, 'CREDIT_LOAN', '["loan","*"]', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', auth],
    ['validFrom', USCC.icbc, MSP.bank, 'CREDIT_LOAN', '["loan"]', '2026-03-01', '2026-04-01T00:00:00Z', auth],
    ['validUntil', USCC.icbc, MSP.bank, 'CREDIT_LOAN', '["loan"]', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z', auth],
    ['authorizationDigest', USCC.icbc, MSP.bank, 'CREDIT_LOAN', '["loan"]', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'x'],
  ])('validates "%s"', async (field, subject, grantee, purpose, scope, from, until, doc) => {
    const { h } = await createConsortium();
    const err = await h.rejects(client(MSP.agency), (c, ctx) => c.GrantConsent(ctx, subject, grantee, purpose, scope, from, until, doc), 'INVALID_ARGUMENT');
    expect(err.message).toContain(`"${field}"`);
  });

  it('rejects bad subjects, unknown grantees and unregistered callers', async () => {
    const { h } = await createConsortium();
    const args = ['CREDIT_LOAN', '["loan"]', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', auth] as const;
    await h.rejects(client(MSP.agency), (c, ctx) => c.GrantConsent(ctx, '91100000100003962A', MSP.bank, ...args), 'INVALID_USCC');
    await h.rejects(client(MSP.agency), (c, ctx) => c.GrantConsent(ctx, USCC.icbc, 'GhostMSP', ...args), 'ORG_NOT_FOUND');
    await h.rejects(client('StrangerMSP'), (c, ctx) => c.GrantConsent(ctx, USCC.icbc, MSP.bank, ...args), 'FORBIDDEN');
    await h.rejects(client(MSP.bank), (c, ctx) => c.IsConsentValid(ctx, USCC.icbc, MSP.bank, 'CREDIT_LOAN', 'loan', 'yesterday'), 'INVALID_ARGUMENT');
  });
});
