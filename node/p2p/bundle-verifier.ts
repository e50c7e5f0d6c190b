/**
 * The node:crypto face of the verifier core's access-bundle verifier (node/verifier/access-bundle-verifier.ts,
 * DESIGN §7 steps 3–5): the requester checks the provider's receipt with it during the exchange,
 * `lianxin receipt verify` checks a bundle offline against the trust bundle, and the regulator's audit checks every
 * bundle it fetches, then the consent and the chain's record of the receipt (those two checks, which need the
 * chain's records, are here). Keys come as node:crypto KeyObjects (the registry view's); the signature and
 * cross-reference rules are the core's, the same code the browser runs.
 *
 * Each problem carries a stable code (`BundleProblemCode`); tests and the audit's verdicts branch on it.
 * A receipt key signs only inside its validity window on chain (the core's `keySignsAt`, for the registry view
 * and the trust bundle alike), at the time the message states.
 */
import type { KeyObject } from 'node:crypto';
import { consentCovers, consentGrantedBy, type Consent } from '../../chaincode/src/protocol.ts';
import type { AccessReceipt as ChainReceipt } from '../ledger/index.ts';
import type { TrustBundle } from '../receipts/index.ts';
import {
  bundleProblem as problem,
  checkSignedAccessReceipt,
  trustBundleReceiptKeyLookup,
  verifyAccessBundle,
  type AccessBundleEnvelopes,
  type AccessBundleVerification,
  type BundleProblem,
  type CoreReceiptKeyLookup,
  type VerifiedAccessBundle,
} from '../verifier/access-bundle-verifier.ts';
import { coreKeyOf, keyObjectOf, nodeCrypto } from '../verifier/node-crypto.ts';
import type { AccessReceipt, AccessRequest, SignedEnvelope } from './exchange-messages.ts';
import type { ExchangeBundle } from './exchange-ports.ts';

export { receiptKindsProblem, type BundleProblem, type BundleProblemCode } from '../verifier/access-bundle-verifier.ts';

/** Who signed with which receipt key when: `RegistryView` answers from the chain, `trustBundleReceiptKeys` offline. */
export interface ReceiptKeyLookup {
  receiptKey(mspId: string, kid: string, atMs: number): KeyObject | undefined;
}

/** A bundle's three signed messages as they travelled; the acknowledgement may be missing. */
export type BundleEnvelopes = AccessBundleEnvelopes;

/**
 * The bundle's signatures and cross-references verified. `findings` lists what is wrong with the access though
 * every signature holds (no acknowledgement, a dispute); empty for a clean access.
 */
export type VerifiedBundle = VerifiedAccessBundle;

export type BundleVerification = AccessBundleVerification;

const coreLookup = (keys: ReceiptKeyLookup): CoreReceiptKeyLookup => ({
  receiptKey(mspId, kid, atMs) {
    const key = keys.receiptKey(mspId, kid, atMs);
    return key === undefined ? undefined : coreKeyOf(key);
  },
});

/**
 * The provider's receipt for `request`, by the core's rule but for the kinds of the records it states (the core's
 * `receiptKindsProblem`): signed by `provider` with its receipt key at the receipt's issue time, stating this
 * request (its digest, ID, requester, subject, purpose, consent), dated within its validity. The requester runs it
 * on every receipt it gets, and disputes, and keeps, one that passes and fails only the kinds; the bundle verifier
 * runs the whole rule.
 */
export function checkSignedReceipt(
  keys: ReceiptKeyLookup,
  provider: string,
  request: { readonly envelope: SignedEnvelope; readonly decoded: AccessRequest },
  envelope: SignedEnvelope,
): AccessReceipt | BundleProblem {
  return checkSignedAccessReceipt(nodeCrypto, coreLookup(keys), provider, request, envelope);
}

/**
 * Verifies a bundle offline: the request signed by its requester, the receipt by the provider the request names
 * (and stating that request), the acknowledgement, when there is one, by the requester and of that receipt.
 * @example
 *   const v = verifyBundle(envelopes, trustBundleReceiptKeys(parseTrustBundle(json)));
 *   if (!v.ok) console.log(v.code, v.field);
 */
export function verifyBundle(envelopes: BundleEnvelopes, keys: ReceiptKeyLookup): BundleVerification {
  return verifyAccessBundle(envelopes, coreLookup(keys), nodeCrypto);
}

/**
 * Whether `consent` (the chain's record of the consent the receipt names; undefined when the chain has none)
 * authorized the access when it happened: the receipt's issue time, which is the `accessedAt` the chain recorded,
 * with the consent recorded on chain by then.
 * The rule is the chaincode's own (`consentCovers`), applied to every kind the request asked for: the chain's
 * RecordAccessReceipt cannot check kinds, since the receipt's digest is all it sees.
 */
export function consentProblem(bundle: ExchangeBundle, consent: Consent | undefined): BundleProblem | undefined {
  const { request, receipt } = bundle.decoded;
  const at = new Date(receipt.issuedAtMs).toISOString();
  if (consent === undefined) {
    return problem('NO_VALID_CONSENT', `consent ${receipt.consentId} is not on chain`, 'receipt.consentId');
  }
  if (consent.consentId !== receipt.consentId) {
    return problem(
      'NO_VALID_CONSENT',
      `the chain answered consent ${consent.consentId} for consent ${receipt.consentId}`,
      'receipt.consentId',
    );
  }
  if (consent.subject !== receipt.subject) {
    return problem(
      'NO_VALID_CONSENT',
      `consent ${consent.consentId} is of subject ${consent.subject}, not ${receipt.subject}`,
      'receipt.subject',
    );
  }
  if (consent.grantee !== receipt.requester) {
    return problem(
      'NO_VALID_CONSENT',
      `consent ${consent.consentId} was granted to ${consent.grantee}, not ${receipt.requester}`,
      'receipt.requester',
    );
  }
  // The chaincode's receipt check, at the chain's clock skew (the provider refuses by the same rule): a consent
  // recorded after the access, however far back its validFrom, did not authorize it.
  if (!consentGrantedBy(consent, receipt.issuedAtMs)) {
    return problem(
      'NO_VALID_CONSENT',
      `consent ${consent.consentId} was recorded on chain at ${consent.grantedAt}, after the access at ${at}`,
      'receipt.issuedAtMs',
    );
  }
  for (const [i, kind] of request.kinds.entries()) {
    if (!consentCovers(consent, receipt.purpose, kind, receipt.issuedAtMs)) {
      return problem(
        'NO_VALID_CONSENT',
        `consent ${consent.consentId} did not cover ${kind} for ${receipt.purpose} at ${at}`,
        `request.kinds[${i}]`,
      );
    }
  }
  return undefined;
}

/**
 * Whether the chain's record of the receipt (`ListAccessReceipts`/`GetAccessReceipt`) is this bundle's receipt:
 * the digest of its bytes and every detail the chain keeps.
 */
export function chainRecordProblem(
  bundle: ExchangeBundle,
  receiptDigest: string,
  onChain: Pick<
    ChainReceipt,
    'receiptDigest' | 'requester' | 'provider' | 'subject' | 'purpose' | 'consentId' | 'accessedAt'
  >,
): BundleProblem | undefined {
  if (onChain.receiptDigest !== receiptDigest) {
    return problem(
      'DIGEST_MISMATCH',
      `the receipt's digest is ${receiptDigest}, the chain recorded ${onChain.receiptDigest}`,
      'receipt',
    );
  }
  const r = bundle.decoded.receipt;
  const stated = { ...r, accessedAt: new Date(r.issuedAtMs).toISOString() };
  for (const field of ['requester', 'provider', 'subject', 'purpose', 'consentId', 'accessedAt'] as const) {
    if (onChain[field] !== stated[field]) {
      return problem(
        'DIGEST_MISMATCH',
        `the chain records ${field} ${onChain[field]}, the receipt states ${stated[field]}`,
        `receipt.${field}`,
      );
    }
  }
  return undefined;
}

/**
 * Receipt keys from the consortium trust bundle, for offline verification: the core's lookup (one key-window
 * rule, `keySignsAt`), as node:crypto keys.
 */
export function trustBundleReceiptKeys(trust: TrustBundle): ReceiptKeyLookup {
  const keys = trustBundleReceiptKeyLookup(trust);
  return {
    receiptKey(mspId, kid, atMs) {
      const key = keys.receiptKey(mspId, kid, atMs);
      return key === undefined ? undefined : keyObjectOf(key);
    },
  };
}
