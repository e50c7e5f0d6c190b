/**
 * The receipt-bundle verifier as a specification: a clean bundle verifies with the chain's registry view and with
 * the exported trust bundle alike, and each tampered field is refused with its own code and field.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHAIN_CLOCK_SKEW_MS, type Consent } from '../../chaincode/src/protocol.ts';
import { buildTrustBundle, parseTrustBundle, type ReceiptKey } from '../receipts/index.ts';
import { testUscc } from '../services/test-node-parts.ts';
import {
  chainRecordProblem,
  consentProblem,
  trustBundleReceiptKeys,
  verifyBundle,
  type BundleEnvelopes,
  type ReceiptKeyLookup,
  type VerifiedBundle,
} from './bundle-verifier.ts';
import {
  encodeAccessReceipt,
  encodeAccessRequest,
  encodeAcknowledgement,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
  type SignedEnvelope,
} from './exchange-messages.ts';
import { MAX_CLOCK_SKEW_MS } from './constants.ts';
import { digestOf } from './exchange-signatures.ts';
import { signedExchange } from './test-exchange.ts';
import { RegistryView } from './registry-view.ts';
import { snapshotOf, newReceiptKey, spkiOf } from './test-registry.ts';

const BANK = 'ShanghaiBankMSP';
const AGENCY = 'HangzhouCreditMSP';
const SUBJECT = testUscc(7);
const CONSENT = 'c'.repeat(64);
const AT = Date.parse('2026-12-05T12:00:00Z');
const DAY = 86_400_000;

const bankKey = newReceiptKey();
const agencyKey = newReceiptKey();
const snapshot = snapshotOf([
  { mspId: BANK, peerId: 'p1', receiptKeys: [{ spki: spkiOf(bankKey), kid: bankKey.kid }] },
  {
    mspId: AGENCY,
    peerId: 'p2',
    role: 'agency',
    receiptKeys: [{ spki: spkiOf(agencyKey), kid: agencyKey.kid, validFrom: '2026-06-01T00:00:00.000Z' }],
  },
]);
const registry = new RegistryView(snapshot);
const trusted = trustBundleReceiptKeys(
  parseTrustBundle(buildTrustBundle({ channel: 'lianxin', exportedAt: new Date(AT), ...snapshot, certificates: [] })),
);

/** A bundle as the two nodes would exchange it; each part can be replaced. */
function bundle(
  change: {
    request?: Partial<AccessRequest>;
    receipt?: Partial<AccessReceipt>;
    ack?: Partial<Acknowledgement>;
    receiptKey?: ReceiptKey;
  } = {},
) {
  const exchange = signedExchange(
    { mspId: BANK, receiptKey: bankKey },
    { mspId: AGENCY, receiptKey: agencyKey },
    {
      at: AT,
      request: { subject: SUBJECT, consentId: CONSENT, ...change.request },
      receipt: change.receipt,
      acknowledgement: change.ack,
      receiptKey: change.receiptKey,
    },
  );
  const { request, receipt, acknowledgement: ack } = exchange.decoded;
  const { acknowledgement } = exchange;
  if (ack === undefined || acknowledgement === undefined) throw new Error('the exchange has an acknowledgement');
  return {
    request,
    receipt,
    ack,
    envelopes: { request: exchange.request, receipt: exchange.receipt, acknowledgement },
  };
}

/** The same signature over other bytes: what an edit of a signed message after signing looks like. */
const tampered = (envelope: SignedEnvelope, body: Uint8Array): SignedEnvelope => ({ ...envelope, body });

function verified(envelopes: BundleEnvelopes, keys: ReceiptKeyLookup = registry): VerifiedBundle {
  const result = verifyBundle(envelopes, keys);
  if (!result.ok) throw new Error(`expected a verified bundle, got ${result.code}: ${result.reason}`);
  return result;
}

const consent = (overrides: Partial<Consent> = {}): Consent => ({
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
  ...overrides,
});

describe('verifyBundle', () => {
  it.each([
    ['the chain registry view', registry],
    ['the exported trust bundle', trusted],
  ])('verifies a clean bundle with %s, with no findings', (_name, keys) => {
    const { envelopes, receipt } = bundle();
    const result = verified(envelopes, keys);
    expect(result.findings).toEqual([]);
    expect(result.receiptDigest).toBe(digestOf(envelopes.receipt).toString('hex'));
    expect(result.bundle.decoded.receipt.subject).toBe(receipt.subject);
  });

  it('refuses a request edited after the requester signed it: SIGNATURE_INVALID on request.signature', () => {
    const { envelopes, request } = bundle();
    const edited = tampered(envelopes.request, encodeAccessRequest({ ...request, kinds: ['loan', 'tax'] }));
    expect(verifyBundle({ ...envelopes, request: edited }, registry)).toMatchObject({
      ok: false,
      code: 'SIGNATURE_INVALID',
      field: 'request.signature',
    });
  });

  it('refuses a receipt edited after the provider signed it: SIGNATURE_INVALID on receipt.signature', () => {
    const { envelopes, receipt } = bundle();
    const edited = tampered(envelopes.receipt, encodeAccessReceipt({ ...receipt, purpose: 'MARKETING' }));
    expect(verifyBundle({ ...envelopes, receipt: edited, acknowledgement: undefined }, trusted)).toMatchObject({
      ok: false,
      code: 'SIGNATURE_INVALID',
      field: 'receipt.signature',
    });
  });

  it("refuses a receipt signed with the requester's key instead of the provider's", () => {
    const { envelopes } = bundle({ receiptKey: bankKey });
    expect(verifyBundle(envelopes, registry)).toMatchObject({
      code: 'SIGNATURE_INVALID',
      field: 'receipt.signature.kid',
    });
  });

  it("refuses a receipt signed before the provider's key was valid", () => {
    const early = Date.parse('2026-05-01T00:00:00Z');
    const { envelopes } = bundle({
      request: { issuedAtMs: early, expiresAtMs: early + 60_000 },
      receipt: { issuedAtMs: early },
    });
    expect(verifyBundle(envelopes, trusted)).toMatchObject({
      code: 'SIGNATURE_INVALID',
      field: 'receipt.signature.kid',
    });
    expect(verifyBundle(envelopes, registry)).toMatchObject({
      code: 'SIGNATURE_INVALID',
      field: 'receipt.signature.kid',
    });
  });

  it('refuses a receipt, signed by the provider, of another request: BUNDLE_INCONSISTENT', () => {
    const { envelopes } = bundle({ receipt: { requestDigest: randomBytes(32) } });
    expect(verifyBundle(envelopes, registry)).toMatchObject({
      code: 'BUNDLE_INCONSISTENT',
      field: 'receipt.requestDigest',
    });
  });

  it('refuses a receipt that names another consent than the request', () => {
    const { envelopes } = bundle({ receipt: { consentId: 'd'.repeat(64) } });
    expect(verifyBundle(envelopes, registry)).toMatchObject({
      code: 'BUNDLE_INCONSISTENT',
      field: 'receipt.consentId',
    });
  });

  it('refuses a receipt, signed by the provider, stating a kind not requested or one kind twice', () => {
    const record = (kind: string) => ({ kind, version: 1, recordDigest: randomBytes(32), leafHash: randomBytes(32) });
    const stating = (...kinds: string[]) =>
      bundle({ request: { kinds: ['loan', 'tax'] }, receipt: { records: kinds.map(record) } }).envelopes;
    expect(verified(stating('tax', 'loan')).findings).toEqual([]);
    expect(verifyBundle(stating('loan', 'court'), registry)).toMatchObject({
      ok: false,
      code: 'BUNDLE_INCONSISTENT',
      field: 'receipt.records[1].kind',
    });
    expect(verifyBundle(stating('tax', 'tax'), trusted)).toMatchObject({
      ok: false,
      code: 'BUNDLE_INCONSISTENT',
      field: 'receipt.records[1].kind',
    });
  });

  it('refuses an acknowledgement of another receipt, and one edited after signing', () => {
    const other = bundle({ ack: { receiptDigest: randomBytes(32) } });
    expect(verifyBundle(other.envelopes, registry)).toMatchObject({
      code: 'BUNDLE_INCONSISTENT',
      field: 'acknowledgement.receiptDigest',
    });
    const { envelopes, ack } = bundle();
    const edited = tampered(
      envelopes.acknowledgement,
      encodeAcknowledgement({ ...ack, status: 'DISPUTED', disputeReason: 'x' }),
    );
    expect(verifyBundle({ ...envelopes, acknowledgement: edited }, registry)).toMatchObject({
      code: 'SIGNATURE_INVALID',
      field: 'acknowledgement.signature',
    });
  });

  it.each([
    ['before the request was issued', AT - MAX_CLOCK_SKEW_MS - 1, AT - MAX_CLOCK_SKEW_MS],
    ['after the request expired', AT + 60_000 + MAX_CLOCK_SKEW_MS + 1, AT + 60_000 + MAX_CLOCK_SKEW_MS],
  ])(
    'refuses a receipt dated %s, beyond the clock skew: BUNDLE_INCONSISTENT on receipt.issuedAtMs',
    (_when, outside, edge) => {
      const dated = (issuedAtMs: number) => bundle({ receipt: { issuedAtMs }, ack: { issuedAtMs } }).envelopes;
      expect(verifyBundle(dated(outside), trusted)).toMatchObject({
        ok: false,
        code: 'BUNDLE_INCONSISTENT',
        field: 'receipt.issuedAtMs',
      });
      expect(verified(dated(edge), trusted).findings).toEqual([]);
    },
  );

  it('refuses an acknowledgement dated before the receipt, beyond the clock skew', () => {
    const dated = (issuedAtMs: number) => bundle({ ack: { issuedAtMs } }).envelopes;
    expect(verifyBundle(dated(AT + 100 - MAX_CLOCK_SKEW_MS - 1), registry)).toMatchObject({
      ok: false,
      code: 'BUNDLE_INCONSISTENT',
      field: 'acknowledgement.issuedAtMs',
    });
    expect(verified(dated(AT + 100 - MAX_CLOCK_SKEW_MS)).findings).toEqual([]);
  });

  it('refuses a body that is not the message it claims to be: BUNDLE_MALFORMED naming the field', () => {
    const { envelopes } = bundle();
    expect(
      verifyBundle({ ...envelopes, receipt: tampered(envelopes.receipt, Buffer.from([0xff, 0xff])) }, registry),
    ).toMatchObject({
      code: 'BUNDLE_MALFORMED',
      field: 'receipt',
    });
  });

  it.each([
    [
      'a receipt whose request ID is not 32 bytes of hex',
      { receipt: { requestId: 'x'.repeat(64) } },
      'receipt.requestId',
    ],
    ['a receipt whose subject is not a USCC', { receipt: { subject: 'not-a-uscc-18chars' } }, 'receipt.subject'],
    [
      'an acknowledgement whose request ID is not 32 bytes of hex',
      { ack: { requestId: 'X'.repeat(64) } },
      'acknowledgement.requestId',
    ],
    [
      'an ACCEPTED acknowledgement with a dispute reason',
      { ack: { disputeReason: 'record 0 (loan): not the chain index' } },
      'acknowledgement.disputeReason',
    ],
  ])('refuses %s, signed as it is: BUNDLE_MALFORMED naming the field', (_name, change, field) => {
    expect(verifyBundle(bundle(change).envelopes, registry)).toMatchObject({
      ok: false,
      code: 'BUNDLE_MALFORMED',
      field,
    });
  });

  it('reports a missing acknowledgement and a dispute as findings of a verified bundle', () => {
    const { envelopes } = bundle();
    expect(verified({ ...envelopes, acknowledgement: undefined }).findings).toMatchObject([
      { code: 'NO_ACKNOWLEDGEMENT' },
    ]);
    const disputed = bundle({
      ack: { status: 'DISPUTED', disputeReason: 'record 0 (loan): does not match the chain index' },
    });
    expect(verified(disputed.envelopes).findings).toMatchObject([
      { code: 'DISPUTED', reason: expect.stringContaining('does not match the chain index') as string },
    ]);
  });
});

describe('the receipt-key window, one rule for the registry view and the trust bundle', () => {
  it('opens at validFrom and closes at validUntil, for both alike', () => {
    const from = Date.parse('2026-06-01T00:00:00.000Z');
    const until = Date.parse('2026-12-01T00:00:00.000Z');
    const rotated = snapshotOf([
      {
        mspId: BANK,
        peerId: 'p1',
        receiptKeys: [
          {
            spki: spkiOf(bankKey),
            kid: bankKey.kid,
            validFrom: new Date(from).toISOString(),
            validUntil: new Date(until).toISOString(),
          },
        ],
      },
    ]);
    const lookups = [
      new RegistryView(rotated),
      trustBundleReceiptKeys(
        parseTrustBundle(
          buildTrustBundle({ channel: 'lianxin', exportedAt: new Date(AT), ...rotated, certificates: [] }),
        ),
      ),
    ];
    for (const keys of lookups) {
      expect(
        [from - 1, from, until - 1, until].map((at) => keys.receiptKey(BANK, bankKey.kid, at) !== undefined),
      ).toEqual([false, true, true, false]);
    }
  });
});

describe('consentProblem', () => {
  const { envelopes } = bundle({ request: { kinds: ['loan', 'tax'] } });
  const checked = verified(envelopes).bundle;
  const ACCESSED = checked.decoded.receipt.issuedAtMs;

  it('accepts a consent covering every kind at the time of access, revoked only afterwards', () => {
    expect(consentProblem(checked, consent({ scope: ['loan', 'tax'] }))).toBeUndefined();
    expect(
      consentProblem(checked, consent({ scope: ['*'], revokedAt: new Date(AT + 1000).toISOString() })),
    ).toBeUndefined();
    // Recorded after the receipt's date, within the clock skew the chain allows two institutions' clocks.
    expect(
      consentProblem(
        checked,
        consent({ scope: ['*'], grantedAt: new Date(ACCESSED + CHAIN_CLOCK_SKEW_MS).toISOString() }),
      ),
    ).toBeUndefined();
  });

  it.each([
    ['a kind outside the scope', consent(), 'request.kinds[1]'],
    [
      'a consent revoked before the access',
      consent({ scope: ['*'], revokedAt: new Date(AT - 1).toISOString() }),
      'request.kinds[0]',
    ],
    [
      'a consent not yet valid',
      consent({ scope: ['*'], validFrom: new Date(AT + 1000).toISOString() }),
      'request.kinds[0]',
    ],
    ['another purpose', consent({ scope: ['*'], purpose: 'MARKETING' }), 'request.kinds[0]'],
    ['another grantee', consent({ scope: ['*'], grantee: 'NanjingSupplyChainMSP' }), 'receipt.requester'],
    ['another subject', consent({ scope: ['*'], subject: testUscc(8) }), 'receipt.subject'],
    ['another consent than the one named', consent({ scope: ['*'], consentId: 'd'.repeat(64) }), 'receipt.consentId'],
    ['no consent on chain', undefined, 'receipt.consentId'],
    [
      'a consent recorded after the access, beyond the clock skew, though valid from before it',
      consent({ scope: ['*'], grantedAt: new Date(ACCESSED + CHAIN_CLOCK_SKEW_MS + 1).toISOString() }),
      'receipt.issuedAtMs',
    ],
  ])('finds NO_VALID_CONSENT for %s', (_name, onChain, field) => {
    expect(consentProblem(checked, onChain)).toMatchObject({ code: 'NO_VALID_CONSENT', field });
  });
});

describe('chainRecordProblem', () => {
  const { envelopes, receipt } = bundle();
  const result = verified(envelopes);
  const onChain = {
    receiptDigest: result.receiptDigest,
    requester: BANK,
    provider: AGENCY,
    subject: SUBJECT,
    purpose: 'LOAN_APPROVAL',
    consentId: CONSENT,
    accessedAt: new Date(receipt.issuedAtMs).toISOString(),
  };

  it('accepts the chain record of this receipt', () => {
    expect(chainRecordProblem(result.bundle, result.receiptDigest, onChain)).toBeUndefined();
  });

  it.each([
    ['receiptDigest', 'f'.repeat(64), 'receipt'],
    ['accessedAt', new Date(AT + 5000).toISOString(), 'receipt.accessedAt'],
    ['subject', testUscc(8), 'receipt.subject'],
  ])('finds DIGEST_MISMATCH when the chain records another %s', (name, value, field) => {
    expect(chainRecordProblem(result.bundle, result.receiptDigest, { ...onChain, [name]: value })).toMatchObject({
      code: 'DIGEST_MISMATCH',
      field,
    });
  });
});
