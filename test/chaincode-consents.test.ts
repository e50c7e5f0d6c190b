/**
 * Consents and access receipts through the official client (issue 3): a bank records an enterprise's consent, the
 * check follows its window and revocation over time; receipts are recorded by a party to the access and audited by
 * the regulator by subject, requester, provider and time, while a bank sees only the receipts it is party to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, testUscc } from './support/chaincode-log.ts';
import {
  AGENCY,
  AGENCY2,
  BANK,
  PLATFORM,
  REGULATOR,
  onboardConsortium,
  startLianxinNetwork,
  type LianxinClient,
  type LianxinNetwork,
} from './support/chaincode-network.ts';

interface Page<T> {
  items: T[];
  bookmark: string;
}

interface Consent {
  consentId: string;
  status: 'active' | 'revoked';
  grantedAt: string;
  revokedAt: string | null;
}

interface Receipt {
  receiptDigest: string;
  requester: string;
  provider: string;
  subject: string;
  accessedAt: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number): string => new Date(ms).toISOString();

const SUBJECT = testUscc(201);
const OTHER_SUBJECT = testUscc(202);
const PURPOSE = 'LOAN_APPROVAL';
/**
 * Consent windows open ten days before the test and close thirty days after; accesses happen minutes apart from
 * the test's start, as the consents are recorded: an access may precede its consent's recording by no more than
 * the chain's clock skew (5 minutes), whatever validFrom the consent states.
 */
const START = Date.now();
const VALID_FROM = iso(START - 10 * DAY);
const VALID_UNTIL = iso(START + 30 * DAY);
const ACCESS = START;
const MINUTE = 60_000;

let net: LianxinNetwork;
let bank: LianxinClient;

beforeAll(async () => {
  net = await startLianxinNetwork();
  await onboardConsortium(net);
  bank = await net.as(BANK);
});

afterAll(async () => {
  await net.close();
});

async function grant(recorder: LianxinClient, subject: string, grantee: string, document: string): Promise<Consent> {
  return recorder.submit<Consent>(
    'GrantConsent',
    subject,
    grantee,
    PURPOSE,
    '["guarantee","loan"]',
    VALID_FROM,
    VALID_UNTIL,
    sha256Hex(document),
  );
}

const isValid = (client: LianxinClient, at: string, kind = 'loan', grantee = BANK, purpose = PURPOSE) =>
  client.evaluate<{ valid: boolean; consentId: string | null }>('IsConsentValid', SUBJECT, grantee, purpose, kind, at);

describe('consents', () => {
  let consent: Consent;

  it('records a consent under the ID derived from subject, grantee and authorization document', async () => {
    consent = await grant(bank, SUBJECT, BANK, 'authorization-1');
    expect(consent).toMatchObject({
      consentId: sha256Hex(`lianxin/consent\n${SUBJECT}\n${BANK}\n${sha256Hex('authorization-1')}`),
      status: 'active',
      revokedAt: null,
    });
    const agency = await net.as(AGENCY);
    expect(await agency.evaluate('GetConsent', consent.consentId)).toEqual(consent);
    expect(
      await bank.refusedSubmit(
        'GrantConsent',
        SUBJECT,
        BANK,
        PURPOSE,
        '["loan"]',
        VALID_FROM,
        VALID_UNTIL,
        sha256Hex('authorization-1'),
      ),
    ).toMatchObject({
      code: 'CONSENT_EXISTS',
    });
  });

  it('answers IsConsentValid inside the window, purpose and scope only', async () => {
    expect(await isValid(bank, '')).toEqual({ valid: true, consentId: consent.consentId });
    expect(await isValid(bank, iso(ACCESS))).toEqual({ valid: true, consentId: consent.consentId });
    expect(await isValid(bank, iso(START - 11 * DAY))).toEqual({ valid: false, consentId: null });
    expect(await isValid(bank, VALID_UNTIL)).toEqual({ valid: false, consentId: null });
    expect(await isValid(bank, '', 'lawsuit')).toEqual({ valid: false, consentId: null });
    expect(await isValid(bank, '', 'loan', AGENCY2)).toEqual({ valid: false, consentId: null });
    expect(await isValid(bank, '', 'loan', BANK, 'MARKETING')).toEqual({ valid: false, consentId: null });
  });

  it('lets only the recorder or the grantee revoke, and keeps the consent valid for times before the revocation', async () => {
    const platform = await net.as(PLATFORM);
    expect(await platform.refusedSubmit('RevokeConsent', consent.consentId)).toMatchObject({ code: 'FORBIDDEN' });
    const revoked = await bank.submit<Consent>('RevokeConsent', consent.consentId);
    expect(revoked).toMatchObject({ status: 'revoked', revokedBy: BANK });
    const revokedAt = Date.parse(revoked.revokedAt ?? '');
    expect(await isValid(bank, '')).toEqual({ valid: false, consentId: null });
    expect(await isValid(bank, iso(revokedAt))).toEqual({ valid: false, consentId: null });
    expect(await isValid(bank, iso(revokedAt - 1))).toEqual({ valid: true, consentId: consent.consentId });
    expect(await bank.refusedSubmit('RevokeConsent', consent.consentId)).toMatchObject({ code: 'CONSENT_REVOKED' });
    consent = revoked;
  });

  it('accepts a receipt under a revoked consent only for an access before the revocation', async () => {
    const before = await bank.submit<Receipt>(
      'RecordAccessReceipt',
      sha256Hex('receipt-before-revocation'),
      BANK,
      AGENCY,
      SUBJECT,
      PURPOSE,
      consent.consentId,
      iso(ACCESS),
    );
    expect(before).toMatchObject({ requester: BANK, provider: AGENCY, accessedAt: iso(ACCESS) });
    const after = iso(Date.parse(consent.revokedAt ?? ''));
    expect(
      await bank.refusedSubmit(
        'RecordAccessReceipt',
        sha256Hex('receipt-after-revocation'),
        BANK,
        AGENCY,
        SUBJECT,
        PURPOSE,
        consent.consentId,
        after,
      ),
    ).toMatchObject({
      code: 'RECEIPT_CONSENT_MISMATCH',
    });
  });
});

describe('access receipts', () => {
  const digests = {
    bankFromHangzhou: sha256Hex('r1'),
    bankFromHefei: sha256Hex('r2'),
    platformFromHangzhou: sha256Hex('r3'),
  };
  const before = sha256Hex('receipt-before-revocation');
  let regulator: LianxinClient;

  beforeAll(async () => {
    regulator = await net.as(REGULATOR);
    const bankConsent = await grant(bank, SUBJECT, BANK, 'authorization-2');
    const platform = await net.as(PLATFORM);
    const platformConsent = await grant(platform, OTHER_SUBJECT, PLATFORM, 'authorization-3');
    // Recorded by the requester or by the provider: either party may record.
    await bank.submit(
      'RecordAccessReceipt',
      digests.bankFromHangzhou,
      BANK,
      AGENCY,
      SUBJECT,
      PURPOSE,
      bankConsent.consentId,
      iso(ACCESS + MINUTE),
    );
    const hefei = await net.as(AGENCY2);
    await hefei.submit(
      'RecordAccessReceipt',
      digests.bankFromHefei,
      BANK,
      AGENCY2,
      SUBJECT,
      PURPOSE,
      bankConsent.consentId,
      iso(ACCESS + 2 * MINUTE),
    );
    await platform.submit(
      'RecordAccessReceipt',
      digests.platformFromHangzhou,
      PLATFORM,
      AGENCY,
      OTHER_SUBJECT,
      PURPOSE,
      platformConsent.consentId,
      iso(ACCESS + 3 * MINUTE),
    );
  });

  const digestsOf = (page: Page<Receipt>): string[] => page.items.map((r) => r.receiptDigest);
  const list = (client: LianxinClient, by: string, value: string, from = '', to = '') =>
    client.evaluate<Page<Receipt>>('ListAccessReceipts', by, value, from, to, '', '');

  it('lets the regulator audit by subject, requester, provider and time range, in access-time order', async () => {
    expect(digestsOf(await list(regulator, 'subject', SUBJECT))).toEqual([
      before,
      digests.bankFromHangzhou,
      digests.bankFromHefei,
    ]);
    expect(digestsOf(await list(regulator, 'requester', BANK))).toEqual([
      before,
      digests.bankFromHangzhou,
      digests.bankFromHefei,
    ]);
    expect(digestsOf(await list(regulator, 'provider', AGENCY))).toEqual([
      before,
      digests.bankFromHangzhou,
      digests.platformFromHangzhou,
    ]);
    expect(digestsOf(await list(regulator, 'time', '', iso(ACCESS + 90_000), iso(ACCESS + 4 * MINUTE)))).toEqual([
      digests.bankFromHefei,
      digests.platformFromHangzhou,
    ]);
    expect(await regulator.evaluate('GetAccessReceipt', digests.platformFromHangzhou)).toMatchObject({
      requester: PLATFORM,
      subject: OTHER_SUBJECT,
    });
  });

  it("shows a bank its own receipts and nobody else's", async () => {
    expect(digestsOf(await list(bank, 'requester', BANK))).toEqual([
      before,
      digests.bankFromHangzhou,
      digests.bankFromHefei,
    ]);
    expect(await bank.evaluate('GetAccessReceipt', digests.bankFromHefei)).toMatchObject({ provider: AGENCY2 });
    expect(await bank.refusedEvaluate('GetAccessReceipt', digests.platformFromHangzhou)).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await bank.refusedEvaluate('ListAccessReceipts', 'requester', PLATFORM, '', '', '', '')).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await bank.refusedEvaluate('ListAccessReceipts', 'provider', AGENCY, '', '', '', '')).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await bank.refusedEvaluate('ListAccessReceipts', 'subject', SUBJECT, '', '', '', '')).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await bank.refusedEvaluate('ListAccessReceipts', 'time', '', '', '', '', '')).toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('lets a provider list what it provided', async () => {
    const agency = await net.as(AGENCY);
    expect(digestsOf(await list(agency, 'provider', AGENCY))).toEqual([
      before,
      digests.bankFromHangzhou,
      digests.platformFromHangzhou,
    ]);
  });

  it('refuses receipts recorded by a third party or conflicting with a recorded one', async () => {
    const hefei = await net.as(AGENCY2);
    const consentId = sha256Hex(`lianxin/consent\n${SUBJECT}\n${BANK}\n${sha256Hex('authorization-2')}`);
    expect(
      await hefei.refusedSubmit(
        'RecordAccessReceipt',
        sha256Hex('r4'),
        BANK,
        AGENCY,
        SUBJECT,
        PURPOSE,
        consentId,
        iso(ACCESS),
      ),
    ).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(
      await bank.refusedSubmit(
        'RecordAccessReceipt',
        digests.bankFromHangzhou,
        BANK,
        AGENCY,
        SUBJECT,
        PURPOSE,
        consentId,
        iso(ACCESS),
      ),
    ).toMatchObject({
      code: 'RECEIPT_CONFLICT',
    });
  });
});
