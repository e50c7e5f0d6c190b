/**
 * The one verifier of an exchange's receipt bundle (DESIGN §7 steps 3–5): the requester checks the provider's
 * receipt with it during the exchange, `lianxin receipt verify` checks a bundle offline against the trust bundle,
 * and the regulator's audit checks every bundle it fetches, then the consent and the chain's record of the
 * receipt. Every input here is attacker-controlled (a provider's receipt, a file, a node's answer to the
 * regulator): signatures are over the bytes as they travelled (`exchange-signatures.ts`), never re-encoded.
 *
 * Each problem carries a stable code (`BundleProblemCode`); tests and the audit's verdicts branch on it.
 * A receipt key signs only inside its validity window on chain (registry-view.ts's rule, which the trust bundle
 * adapter below repeats for offline use), at the time the message states.
 */
import type { KeyObject } from 'node:crypto';
import { consentCovers, equalBytes, type Consent } from '../../chaincode/src/protocol.ts';
import type { AccessReceipt as ChainReceipt } from '../ledger/index.ts';
import type { AttestationRejectionCode, TrustBundle } from '../receipts/index.ts';
import { keyObjectOf } from '../verifier/node-crypto.ts';
import { P2pError } from './errors.ts';
import {
  decodeAccessReceipt,
  decodeAccessRequest,
  decodeAcknowledgement,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
  type SignedEnvelope,
} from './exchange-messages.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import { digestOf, verifyEnvelope, type SignedMessage } from './exchange-signatures.ts';

export type BundleProblemCode =
  /** A message does not decode, or a field fails the exchange's validation rules. */
  | 'BUNDLE_MALFORMED'
  /** A signature does not verify with the signer's receipt key valid at the time the message states. */
  | 'SIGNATURE_INVALID'
  /** The messages do not refer to each other: a receipt of another request, an acknowledgement of another receipt. */
  | 'BUNDLE_INCONSISTENT'
  /** The requester never acknowledged the receipt. */
  | 'NO_ACKNOWLEDGEMENT'
  /** The requester acknowledged with a dispute. */
  | 'DISPUTED'
  /** The consent named does not authorize the requester for this subject, purpose and every kind at access time. */
  | 'NO_VALID_CONSENT'
  /** The chain's record of the receipt is missing or states other details than the signed receipt. */
  | 'DIGEST_MISMATCH'
  /**
   * The attestation of the access leaf does not verify with the trust bundle (`attestationCode` says why: a
   * tampered inclusion proof is BAD_INCLUSION_PROOF, a forged checkpoint BAD_CHECKPOINT_SIGNATURE, ...), or its
   * checkpoint is not anchored yet (NOT_ANCHORED).
   */
  | 'ACCESS_PROOF_REJECTED'
  /** The attested leaf is not this bundle's access leaf in the requester's or the provider's log. */
  | 'ACCESS_LEAF_MISMATCH';

export interface BundleProblem {
  readonly code: BundleProblemCode;
  readonly reason: string;
  /** The bundle field to blame, when there is one (`receipt.signature`, `acknowledgement.receiptDigest`). */
  readonly field?: string;
  /** For ACCESS_PROOF_REJECTED: the attestation verifier's code (node/receipts `AttestationRejectionCode`). */
  readonly attestationCode?: AttestationRejectionCode;
}

/** Who signed with which receipt key when: `RegistryView` answers from the chain, `trustBundleReceiptKeys` offline. */
export interface ReceiptKeyLookup {
  receiptKey(mspId: string, kid: string, atMs: number): KeyObject | undefined;
}

/** A bundle's three signed messages as they travelled; the acknowledgement may be missing. */
export interface BundleEnvelopes {
  readonly request: SignedEnvelope;
  readonly receipt: SignedEnvelope;
  readonly acknowledgement: SignedEnvelope | undefined;
}

/**
 * The bundle's signatures and cross-references verified. `findings` lists what is wrong with the access though
 * every signature holds (no acknowledgement, a dispute); empty for a clean access.
 */
export interface VerifiedBundle {
  readonly ok: true;
  readonly bundle: ExchangeBundle;
  /** Lower-case hex SHA-256 of the receipt body: the digest recorded on chain. */
  readonly receiptDigest: string;
  readonly findings: readonly BundleProblem[];
}

export type BundleVerification = VerifiedBundle | ({ readonly ok: false } & BundleProblem);

const problem = (code: BundleProblemCode, reason: string, field?: string): BundleProblem =>
  field === undefined ? { code, reason } : { code, reason, field };

/** Decodes with the exchange's validation; a failure is BUNDLE_MALFORMED naming the field. */
function decoded<T>(decode: () => T): T | BundleProblem {
  try {
    return decode();
  } catch (err) {
    if (err instanceof P2pError) return problem('BUNDLE_MALFORMED', err.message, err.field);
    throw err;
  }
}

const isProblem = (value: unknown): value is BundleProblem =>
  typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;

function signedBy(
  keys: ReceiptKeyLookup,
  message: SignedMessage,
  envelope: SignedEnvelope,
  signer: string,
  atMs: number,
  field: string,
): BundleProblem | undefined {
  const key = keys.receiptKey(signer, envelope.signature.kid, atMs);
  if (key === undefined) {
    return problem(
      'SIGNATURE_INVALID',
      `${signer} had no receipt key ${envelope.signature.kid} valid at ${new Date(atMs).toISOString()}`,
      `${field}.signature.kid`,
    );
  }
  return verifyEnvelope(message, envelope, key)
    ? undefined
    : problem('SIGNATURE_INVALID', `the ${message} is not signed by ${signer}`, `${field}.signature`);
}

/**
 * The provider's receipt for `request`: signed by `provider` with its receipt key at the receipt's issue time, and
 * stating this request (its digest, ID, requester, subject, purpose, consent). The requester runs this on every
 * receipt it gets; the bundle verifier runs it on every stored bundle.
 */
export function checkReceipt(
  keys: ReceiptKeyLookup,
  provider: string,
  request: { readonly envelope: SignedEnvelope; readonly decoded: AccessRequest },
  envelope: SignedEnvelope,
): AccessReceipt | BundleProblem {
  const receipt = decoded(() => decodeAccessReceipt(envelope.body));
  if (isProblem(receipt)) return receipt;
  if (receipt.provider !== provider) {
    return problem('SIGNATURE_INVALID', `a receipt not signed by ${provider}`, 'receipt.provider');
  }
  const signature = signedBy(keys, 'access-receipt', envelope, provider, receipt.issuedAtMs, 'receipt');
  if (signature !== undefined) return signature;
  const r = request.decoded;
  if (!equalBytes(receipt.requestDigest, digestOf(request.envelope))) {
    return problem('BUNDLE_INCONSISTENT', 'the receipt does not state this request', 'receipt.requestDigest');
  }
  for (const field of ['requestId', 'requester', 'subject', 'purpose', 'consentId'] as const) {
    if (receipt[field] !== r[field]) {
      return problem('BUNDLE_INCONSISTENT', 'the receipt does not state this request', `receipt.${field}`);
    }
  }
  return receipt;
}

/**
 * Verifies a bundle offline: the request signed by its requester, the receipt by the provider the request names
 * (and stating that request), the acknowledgement, when there is one, by the requester and of that receipt.
 * @example
 *   const v = verifyBundle(envelopes, trustBundleReceiptKeys(parseTrustBundle(json)));
 *   if (!v.ok) console.log(v.code, v.field);
 */
export function verifyBundle(envelopes: BundleEnvelopes, keys: ReceiptKeyLookup): BundleVerification {
  const failed = (p: BundleProblem): BundleVerification => ({ ok: false, ...p });
  const request = decoded(() => decodeAccessRequest(envelopes.request.body));
  if (isProblem(request)) return failed(request);
  const requestSignature = signedBy(
    keys,
    'access-request',
    envelopes.request,
    request.requester,
    request.issuedAtMs,
    'request',
  );
  if (requestSignature !== undefined) return failed(requestSignature);
  const receipt = checkReceipt(
    keys,
    request.provider,
    { envelope: envelopes.request, decoded: request },
    envelopes.receipt,
  );
  if (isProblem(receipt)) return failed(receipt);

  const receiptDigest = digestOf(envelopes.receipt);
  const findings: BundleProblem[] = [];
  let acknowledgement: Acknowledgement | undefined;
  if (envelopes.acknowledgement === undefined) {
    findings.push(problem('NO_ACKNOWLEDGEMENT', `${request.requester} never acknowledged the receipt`));
  } else {
    const ackEnvelope = envelopes.acknowledgement;
    const ack = decoded(() => decodeAcknowledgement(ackEnvelope.body));
    if (isProblem(ack)) return failed(ack);
    if (ack.requester !== request.requester) {
      return failed(
        problem(
          'SIGNATURE_INVALID',
          `an acknowledgement not signed by ${request.requester}`,
          'acknowledgement.requester',
        ),
      );
    }
    const ackSignature = signedBy(
      keys,
      'acknowledgement',
      ackEnvelope,
      ack.requester,
      ack.issuedAtMs,
      'acknowledgement',
    );
    if (ackSignature !== undefined) return failed(ackSignature);
    if (!equalBytes(ack.receiptDigest, receiptDigest)) {
      return failed(
        problem('BUNDLE_INCONSISTENT', 'the acknowledgement is of another receipt', 'acknowledgement.receiptDigest'),
      );
    }
    if (ack.requestId !== request.requestId) {
      return failed(
        problem('BUNDLE_INCONSISTENT', 'the acknowledgement is of another request', 'acknowledgement.requestId'),
      );
    }
    if (ack.status === 'DISPUTED') {
      findings.push(problem('DISPUTED', `${request.requester} disputed the report: ${ack.disputeReason}`));
    }
    acknowledgement = ack;
  }
  return {
    ok: true,
    receiptDigest: receiptDigest.toString('hex'),
    findings,
    bundle: { ...envelopes, decoded: { request, receipt, acknowledgement } },
  };
}

/**
 * Whether `consent` (the chain's record of the consent the receipt names; undefined when the chain has none)
 * authorized the access when it happened: the receipt's issue time, which is the `accessedAt` the chain recorded.
 * The rule is the chaincode's own (`consentCovers`), applied to every kind the request asked for: the chain's
 * RecordAccessReceipt cannot check kinds, since the receipt's digest is all it sees.
 */
export function consentProblem(bundle: ExchangeBundle, consent: Consent | undefined): BundleProblem | undefined {
  const { request, receipt } = bundle.decoded;
  const at = new Date(receipt.issuedAtMs).toISOString();
  if (consent === undefined) {
    return problem('NO_VALID_CONSENT', `consent ${receipt.consentId} is not on chain`, 'receipt.consentId');
  }
  if (consent.consentId !== receipt.consentId || consent.subject !== receipt.subject) {
    return problem(
      'NO_VALID_CONSENT',
      `consent ${consent.consentId} is not of subject ${receipt.subject}`,
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
 * Receipt keys from the consortium trust bundle, for offline verification, by the registry view's rule: a key
 * signs from its `validFrom` until its `validUntil` (rotation or revocation closes the window).
 */
export function trustBundleReceiptKeys(trust: TrustBundle): ReceiptKeyLookup {
  return {
    receiptKey(mspId, kid, atMs) {
      const key = trust.key(mspId, kid);
      if (key === undefined || key.role !== 'receipt' || atMs < key.validFromMs) return undefined;
      return key.validUntilMs === null || atMs < key.validUntilMs ? keyObjectOf(key.publicKey) : undefined;
    },
  };
}
