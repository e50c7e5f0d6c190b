import { describe, expect, it } from 'vitest';
import { client, createConsortium, digest, MSP, operatorAdmin, USCC } from './fixtures';

const doc = digest('supply contract #1');
const parties = JSON.stringify([USCC.huawei, USCC.alibaba.toLowerCase(), MSP.bank]);
const sigs = JSON.stringify({ [USCC.huawei]: digest('sig-huawei'), [MSP.bank]: digest('sig-bank') });

describe('NotarizeEvidence', () => {
  it('records the digest, parties and signature digests under an ID derived from platform and digest', async () => {
    const { h } = await createConsortium();
    const { result, events, txId } = await h.tx(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, doc, parties, sigs));
    expect(result).toMatchObject({
      documentDigest: doc, platform: MSP.platform, notarizedAt: '2026-03-01T00:00:00.000Z', txId,
      parties: [{ type: 'enterprise', id: USCC.huawei }, { type: 'enterprise', id: USCC.alibaba }, { type: 'institution', id: MSP.bank }],
      partySignatureDigests: { [USCC.huawei]: digest('sig-huawei'), [MSP.bank]: digest('sig-bank') },
    });
    const evidenceId = result.evidenceId as string;
    expect(evidenceId).toMatch(/^[0-9a-f]{64}$/);
    expect(events).toEqual([{ name: 'Notarized', payload: { evidenceId, platform: MSP.platform, txId } }]);
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetEvidence(ctx, evidenceId))).toEqual(result);
    const byDigest = await h.call<{ items: unknown[] }>(client(MSP.bank), (c, ctx) => c.ListEvidenceByDigest(ctx, doc, '10', ''));
    expect(byDigest.items).toEqual([result]);
  });

  it('is idempotent for the same document from the same platform, and conflicts if the details differ', async () => {
    const { h } = await createConsortium();
    const first = await h.call(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, doc, parties, ''));
    h.ledger.now += 1000;
    const again = await h.tx(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, doc, parties, ''));
    expect(again.result).toEqual(first);
    expect(again.writes).toBe(0);
    expect(again.events).toEqual([]);
    await h.rejects(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, doc, JSON.stringify([USCC.huawei]), ''), 'EVIDENCE_CONFLICT');
  });

  it('accepts only platform organisations', async () => {
    const { h } = await createConsortium();
    await h.rejects(client(MSP.bank), (c, ctx) => c.NotarizeEvidence(ctx, doc, parties, ''), 'FORBIDDEN');
    await h.rejects(client('StrangerMSP'), (c, ctx) => c.NotarizeEvidence(ctx, doc, parties, ''), 'FORBIDDEN');
    await h.call(operatorAdmin, (c, ctx) => c.SetOrganizationStatus(ctx, MSP.platform, 'suspended'));
    await h.rejects(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, doc, parties, ''), 'ORG_SUSPENDED');
  });

  it.each([
    ['documentDigest', 'abc', parties, ''],
    ['parties', doc, '[]', ''],
    ['parties[1]', doc, JSON.stringify([MSP.bank, MSP.bank]), ''],
    // Repeats are found after upper-casing: one enterprise in two cases is not two parties.
    ['parties[1]', doc, JSON.stringify([USCC.alibaba.toLowerCase(), USCC.alibaba]), ''],
    [`partySignatureDigests.${USCC.alibaba.toLowerCase()}`, doc, parties, JSON.stringify({ [USCC.alibaba]: digest('a'), [USCC.alibaba.toLowerCase()]: digest('b') })],
    ['parties[0]', doc, '["bad party!"]', ''],
    ['partySignatureDigests', doc, parties, '[1]'],
    [`partySignatureDigests.${MSP.agency}`, doc, parties, JSON.stringify({ [MSP.agency]: digest('x') })],
    [`partySignatureDigests.${MSP.bank}`, doc, parties, JSON.stringify({ [MSP.bank]: 'nope' })],
  ])('validates "%s"', async (field, documentDigest, p, s) => {
    const { h } = await createConsortium();
    const err = await h.rejects(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, documentDigest, p, s), 'INVALID_ARGUMENT');
    expect(err.message).toContain(`"${field}"`);
  });

  it('matches signature-digest keys to the parties as it normalises them: a lower-case USCC key names its party', async () => {
    const { h } = await createConsortium();
    const lower = JSON.stringify({ [USCC.alibaba.toLowerCase()]: digest('sig-alibaba') });
    const result = await h.call(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, doc, parties, lower));
    expect(result).toMatchObject({ partySignatureDigests: { [USCC.alibaba]: digest('sig-alibaba') } });
  });

  it('rejects unregistered institutions and invalid USCCs among the parties', async () => {
    const { h } = await createConsortium();
    await h.rejects(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, doc, '["GhostMSP"]', ''), 'ORG_NOT_FOUND');
    await h.rejects(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, doc, '["91100000100003962A"]', ''), 'INVALID_USCC');
  });

  it('takes an institution whose MSP ID is 18 letters and digits, not shaped like a USCC, for that institution', async () => {
    const { h } = await createConsortium();
    const bank = 'ShanghaiBankMSP001';
    await h.call(operatorAdmin, (c, ctx) => c.RegisterOrganization(ctx, bank, 'Bank Ltd', 'Shanghai', 'bank'));
    const signed = JSON.stringify({ [bank]: digest('sig-bank') });
    const result = await h.call(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, doc, JSON.stringify([bank]), signed));
    expect(result).toMatchObject({ parties: [{ type: 'institution', id: bank }], partySignatureDigests: { [bank]: digest('sig-bank') } });
    // Unregistered, it is an unknown institution, not a malformed code.
    await h.rejects(client(MSP.platform), (c, ctx) => c.NotarizeEvidence(ctx, digest('other'), '["NanjingBankMSP0001"]', ''), 'ORG_NOT_FOUND');
  });

  it('reports unknown evidence', async () => {
    const { h } = await createConsortium();
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetEvidence(ctx, digest('none')), 'EVIDENCE_NOT_FOUND');
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetEvidence(ctx, 'x'), 'INVALID_ARGUMENT');
  });
});
