/**
 * The audit's verdicts from typed fakes of the chain and of the nodes' bundle fetch (the process test in
 * test/regulator-audit-processes.test.ts runs the real parts): which copy is checked, and what each case yields.
 */
import { describe, expect, it } from 'vitest';
import type { Consent } from '../../chaincode/src/protocol.ts';
import type { AccessReceipt as ChainReceipt } from '../ledger/index.ts';
import { digestOf, P2pError, RegistryView, type FetchedBundle } from '../p2p/index.ts';
import { signedExchange } from '../p2p/test-exchange.ts';
import { snapshotOf, newReceiptKey, spkiOf } from '../p2p/test-registry.ts';
import { testUscc } from '../services/test-node-parts.ts';
import { auditAccesses, type AccessAuditComponents } from './access-audit.ts';

const BANK = 'ShanghaiBankMSP';
const AGENCY = 'HangzhouCreditMSP';
const SUBJECT = testUscc(9);
const CONSENT = 'c'.repeat(64);
const AT = Date.parse('2026-12-05T12:00:00Z');
const DAY = 86_400_000;

const bankKey = newReceiptKey();
const agencyKey = newReceiptKey();
const registry = new RegistryView(
  snapshotOf([
    { mspId: BANK, peerId: 'p1', receiptKeys: [{ spki: spkiOf(bankKey), kid: bankKey.kid }] },
    { mspId: AGENCY, peerId: 'p2', role: 'agency', receiptKeys: [{ spki: spkiOf(agencyKey), kid: agencyKey.kid }] },
  ]),
);

/** One access: its bundle as both nodes keep it (with and without the acknowledgement) and the chain's record. */
function access(kinds: string[], at = AT) {
  const exchange = signedExchange(
    { mspId: BANK, receiptKey: bankKey },
    { mspId: AGENCY, receiptKey: agencyKey },
    {
      at,
      request: { subject: SUBJECT, kinds, consentId: CONSENT },
      receipt: { records: [], issuedAtMs: at + 10 },
      acknowledgement: { issuedAtMs: at + 20 },
    },
  );
  const { request: requestEnvelope, receipt: receiptEnvelope, acknowledgement: ack } = exchange;
  const receiptDigest = digestOf(receiptEnvelope).toString('hex');
  const onChain: ChainReceipt = {
    receiptDigest,
    requester: BANK,
    provider: AGENCY,
    subject: SUBJECT,
    purpose: 'LOAN_APPROVAL',
    consentId: CONSENT,
    accessedAt: new Date(at + 10).toISOString(),
    recordedBy: AGENCY,
    recordedAt: new Date(at + 50).toISOString(),
    txId: 'f'.repeat(64),
  };
  const stored = (acknowledged: boolean): FetchedBundle => ({
    receiptDigest,
    found: true,
    request: requestEnvelope,
    receipt: receiptEnvelope,
    acknowledgement: acknowledged ? ack : undefined,
  });
  return { onChain, stored, receiptDigest };
}

const consent: Consent = {
  consentId: CONSENT,
  subject: SUBJECT,
  grantee: BANK,
  purpose: 'LOAN_APPROVAL',
  scope: ['loan'],
  validFrom: new Date(AT - DAY).toISOString(),
  validUntil: new Date(AT + DAY).toISOString(),
  authorizationDigest: 'a'.repeat(64),
  recordedBy: BANK,
  status: 'active',
  grantedAt: new Date(AT - DAY).toISOString(),
  revokedAt: null,
  revokedBy: null,
  txId: 'e'.repeat(64),
};

/** Fakes of the chain and of each node's journal, as `bundles[msp][digest]`; a node in `down` does not answer. */
function components(
  receipts: readonly ChainReceipt[],
  bundles: Record<string, Record<string, FetchedBundle>>,
  down: readonly string[] = [],
): AccessAuditComponents {
  return {
    chain: {
      listAccessReceipts: (by, value) =>
        Promise.resolve(receipts.filter((r) => by === 'time' || (by === 'subject' ? r.subject : r[by]) === value)),
      getConsent: (id) => Promise.resolve(id === CONSENT ? consent : undefined),
    },
    keys: registry,
    fetchBundles: (mspId, digests) => {
      if (down.includes(mspId)) return Promise.reject(new P2pError('UNAVAILABLE', `${mspId} is down`));
      return Promise.resolve(digests.map((d) => bundles[mspId]?.[d] ?? { receiptDigest: d, found: false }));
    },
  };
}

describe('auditAccesses', () => {
  it('gives OK to a consented, acknowledged access and NO_VALID_CONSENT to one asking for an unconsented kind', async () => {
    const clean = access(['loan']);
    const unconsented = access(['tax'], AT + 1000);
    const audited = await auditAccesses(
      components([unconsented.onChain, clean.onChain], {
        [AGENCY]: { [clean.receiptDigest]: clean.stored(true), [unconsented.receiptDigest]: unconsented.stored(true) },
      }),
      { subject: SUBJECT },
    );
    expect(audited.map((a) => [a.receipt.receiptDigest, a.verdict])).toEqual([
      [clean.receiptDigest, 'OK'],
      [unconsented.receiptDigest, 'NO_VALID_CONSENT'],
    ]);
  });

  it("prefers the requester's acknowledged copy to the provider's unacknowledged one", async () => {
    const a = access(['loan']);
    const audited = await auditAccesses(
      components([a.onChain], {
        [AGENCY]: { [a.receiptDigest]: a.stored(false) },
        [BANK]: { [a.receiptDigest]: a.stored(true) },
      }),
      { institution: AGENCY },
    );
    expect(audited).toMatchObject([{ verdict: 'OK', bundleFrom: BANK }]);
    const onlyProvider = await auditAccesses(
      components([a.onChain], { [AGENCY]: { [a.receiptDigest]: a.stored(false) } }, [BANK]),
      { institution: AGENCY },
    );
    expect(onlyProvider).toMatchObject([{ verdict: 'NO_ACKNOWLEDGEMENT', bundleFrom: AGENCY }]);
  });

  it('finds BUNDLE_MISSING when no node gives the bundle, naming the unreachable node', async () => {
    const a = access(['loan']);
    const [audited] = await auditAccesses(components([a.onChain], {}, [AGENCY]), {});
    expect(audited?.verdict).toBe('BUNDLE_MISSING');
    expect(audited?.findings[0]?.reason).toContain(`${AGENCY} is down`);
  });

  it("finds DIGEST_MISMATCH when the chain's record states another access time than the signed receipt", async () => {
    const a = access(['loan']);
    const onChain = { ...a.onChain, accessedAt: new Date(AT + 60_000).toISOString() };
    const [audited] = await auditAccesses(
      components([onChain], { [AGENCY]: { [a.receiptDigest]: a.stored(true) } }),
      {},
    );
    expect(audited?.findings).toMatchObject([{ code: 'DIGEST_MISMATCH', field: 'receipt.accessedAt' }]);
  });

  it('refuses a query with a malformed subject, naming the field', async () => {
    await expect(auditAccesses(components([], {}), { subject: 'not-a-code' })).rejects.toMatchObject({
      code: 'INVALID_QUERY',
      field: 'subject',
    });
  });
});
