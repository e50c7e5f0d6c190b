/**
 * The one verifier of an access receipt bundle's signatures and cross-references (DESIGN §7 steps 3–5), in Node
 * and in a browser: the request signed by its requester, the receipt by the provider the request names (and
 * stating that request), the acknowledgement, when there is one, by the requester and of that receipt. The crypto
 * is the port's (`VerifierCrypto`); signatures are Fabric's (strict DER, low-S, p256.ts) over
 * "lianxin-exchange/v1/<message>\n" ‖ SHA-256(body), the body as it travelled, never re-encoded.
 *
 * node/p2p/bundle-verifier.ts is its node:crypto face (the requester, `lianxin receipt verify`, the audit); the
 * consent and chain-record checks, which need the chain's records, stay there. Every problem carries a stable code
 * (`BundleProblemCode`); tests and the audit's verdicts branch on it.
 */
import { equalBytes, isoTime } from '../../chaincode/src/protocol-portable.ts';
import { MAX_CLOCK_SKEW_MS } from '../p2p/constants.ts';
import type { AttestationRejectionCode } from './attestation-verifier.ts';
import { concatBytes, toHex, utf8 } from './bytes.ts';
import type { P256PublicKey, VerifierCrypto } from './crypto-port.ts';
import { ExchangeMessageError } from './errors.ts';
import {
  decodeAccessReceipt,
  decodeAccessRequest,
  decodeAcknowledgement,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
  type SignedEnvelope,
} from './exchange-codec.ts';
import { verifyP256 } from './p256.ts';
import type { TrustBundle } from './trust-bundle.ts';

export type BundleProblemCode =
  /** A message does not decode, or a field fails the exchange's validation rules. */
  | 'BUNDLE_MALFORMED'
  /** A signature does not verify with the signer's receipt key valid at the time the message states. */
  | 'SIGNATURE_INVALID'
  /**
   * The messages do not refer to each other: a receipt of another request, an acknowledgement of another receipt;
   * or their dates do not fit (a receipt dated outside its request's validity, an acknowledgement before its receipt).
   */
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
  /** For ACCESS_PROOF_REJECTED: the attestation verifier's code. */
  readonly attestationCode?: AttestationRejectionCode;
}

/** The exchange's signed message types; the context string makes a signature of one useless as another. */
export type SignedMessage = 'access-request' | 'access-receipt' | 'refusal' | 'acknowledgement';

/** Who signed with which receipt key when, as a key imported by the crypto port the verifier is given. */
export interface CoreReceiptKeyLookup {
  receiptKey(mspId: string, kid: string, atMs: number): P256PublicKey | undefined;
}

/** A bundle's three signed messages as they travelled; the acknowledgement may be missing. */
export interface AccessBundleEnvelopes {
  readonly request: SignedEnvelope;
  readonly receipt: SignedEnvelope;
  readonly acknowledgement: SignedEnvelope | undefined;
}

export interface DecodedAccessBundle extends AccessBundleEnvelopes {
  readonly decoded: {
    readonly request: AccessRequest;
    readonly receipt: AccessReceipt;
    readonly acknowledgement: Acknowledgement | undefined;
  };
}

/**
 * The bundle's signatures and cross-references verified. `findings` lists what is wrong with the access though
 * every signature holds (no acknowledgement, a dispute); empty for a clean access.
 */
export interface VerifiedAccessBundle {
  readonly ok: true;
  readonly bundle: DecodedAccessBundle;
  /** Lower-case hex SHA-256 of the receipt body: the digest recorded on chain. */
  readonly receiptDigest: string;
  readonly findings: readonly BundleProblem[];
}

export type AccessBundleVerification = VerifiedAccessBundle | ({ readonly ok: false } & BundleProblem);

export const bundleProblem = (code: BundleProblemCode, reason: string, field?: string): BundleProblem =>
  field === undefined ? { code, reason } : { code, reason, field };
const problem = bundleProblem;

/** What an exchange signature signs: the context line, then SHA-256 of the body as it travelled. */
export function exchangeSigningInput(crypto: VerifierCrypto, message: SignedMessage, body: Uint8Array): Uint8Array {
  return concatBytes([utf8(`lianxin-exchange/v1/${message}\n`), crypto.sha256(body)]);
}

/** Decodes with the exchange's validation; a failure is BUNDLE_MALFORMED naming the field. */
function decoded<T>(decode: () => T): T | BundleProblem {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ExchangeMessageError) return problem('BUNDLE_MALFORMED', err.message, err.field);
    throw err;
  }
}

export const isBundleProblem = (value: unknown): value is BundleProblem =>
  typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;

function signedBy(
  crypto: VerifierCrypto,
  keys: CoreReceiptKeyLookup,
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
      `${signer} had no receipt key ${envelope.signature.kid} valid at ${isoTime(atMs)}`,
      `${field}.signature.kid`,
    );
  }
  const input = exchangeSigningInput(crypto, message, envelope.body);
  return verifyP256(crypto, key, input, envelope.signature.signature).ok
    ? undefined
    : problem('SIGNATURE_INVALID', `the ${message} is not signed by ${signer}`, `${field}.signature`);
}

/**
 * The provider's receipt for `request`: signed by `provider` with its receipt key at the receipt's issue time,
 * stating this request (its digest, ID, requester, subject, purpose, consent), dated within its validity, and
 * records only of kinds it asked for, each once.
 */
export function checkAccessReceipt(
  crypto: VerifierCrypto,
  keys: CoreReceiptKeyLookup,
  provider: string,
  request: { readonly envelope: SignedEnvelope; readonly decoded: AccessRequest },
  envelope: SignedEnvelope,
): AccessReceipt | BundleProblem {
  const receipt = checkSignedAccessReceipt(crypto, keys, provider, request, envelope);
  return isBundleProblem(receipt) ? receipt : (receiptKindsProblem(request.decoded, receipt) ?? receipt);
}

/**
 * `checkAccessReceipt` but for the kinds of the records the receipt states. A receipt that passes this is the
 * provider's signed answer to `request`: the requester keeps and disputes one failing only `receiptKindsProblem`,
 * evidence of what was disclosed, where it refuses one failing this.
 */
export function checkSignedAccessReceipt(
  crypto: VerifierCrypto,
  keys: CoreReceiptKeyLookup,
  provider: string,
  request: { readonly envelope: SignedEnvelope; readonly decoded: AccessRequest },
  envelope: SignedEnvelope,
): AccessReceipt | BundleProblem {
  const receipt = decoded(() => decodeAccessReceipt(envelope.body));
  if (isBundleProblem(receipt)) return receipt;
  if (receipt.provider !== provider) {
    return problem('SIGNATURE_INVALID', `a receipt not signed by ${provider}`, 'receipt.provider');
  }
  const signature = signedBy(crypto, keys, 'access-receipt', envelope, provider, receipt.issuedAtMs, 'receipt');
  if (signature !== undefined) return signature;
  const r = request.decoded;
  if (!equalBytes(receipt.requestDigest, crypto.sha256(request.envelope.body))) {
    return problem('BUNDLE_INCONSISTENT', 'the receipt does not state this request', 'receipt.requestDigest');
  }
  for (const field of ['requestId', 'requester', 'subject', 'purpose', 'consentId'] as const) {
    if (receipt[field] !== r[field]) {
      return problem('BUNDLE_INCONSISTENT', 'the receipt does not state this request', `receipt.${field}`);
    }
  }
  return receiptTimeProblem(r, receipt) ?? receipt;
}

/**
 * Whether the receipt states a record of a kind the request did not ask for, or one kind twice. The consent is
 * judged on the request's kinds (and the chain sees only the receipt's digest), so a record of another kind would
 * be served under no consent at all, acknowledged by a complicit requester, and pass the audit.
 */
export function receiptKindsProblem(request: AccessRequest, receipt: AccessReceipt): BundleProblem | undefined {
  const stated = new Set<string>();
  for (const [i, { kind }] of receipt.records.entries()) {
    const field = `receipt.records[${i}].kind`;
    if (!request.kinds.includes(kind)) {
      return problem('BUNDLE_INCONSISTENT', `the receipt states a record of kind ${kind}, not requested`, field);
    }
    if (stated.has(kind)) return problem('BUNDLE_INCONSISTENT', `the receipt states kind ${kind} twice`, field);
    stated.add(kind);
  }
  return undefined;
}

/**
 * Whether the receipt's date fits the request it answers. Each message is dated by its signer alone, and the
 * receipt's date is the one that matters: the chain records it as the access time, and the provider's key and the
 * consent are judged at it, so a back-dated receipt could pass on a key since revoked or a consent since withdrawn.
 * A provider answers a request while it is valid: a receipt dated before the request was issued or after it
 * expired, by more than the clock skew two machines may have, is not the answer to it.
 */
function receiptTimeProblem(request: AccessRequest, receipt: AccessReceipt): BundleProblem | undefined {
  const at = receipt.issuedAtMs;
  if (at >= request.issuedAtMs - MAX_CLOCK_SKEW_MS && at <= request.expiresAtMs + MAX_CLOCK_SKEW_MS) return undefined;
  return problem(
    'BUNDLE_INCONSISTENT',
    `the receipt is dated ${isoTime(at)}, outside the request's validity ${isoTime(request.issuedAtMs)} to ` +
      `${isoTime(request.expiresAtMs)} (± ${MAX_CLOCK_SKEW_MS} ms)`,
    'receipt.issuedAtMs',
  );
}

/**
 * Whether the acknowledgement's date fits the receipt it acknowledges: the requester acknowledges a receipt after
 * getting it, so not before the receipt's date by more than the clock skew. The date picks the key the
 * acknowledgement is checked with. The provider applies this rule as the acknowledgement arrives.
 */
export function acknowledgementTimeProblem(receipt: AccessReceipt, ack: Acknowledgement): BundleProblem | undefined {
  if (ack.issuedAtMs >= receipt.issuedAtMs - MAX_CLOCK_SKEW_MS) return undefined;
  return problem(
    'BUNDLE_INCONSISTENT',
    `the acknowledgement is dated ${isoTime(ack.issuedAtMs)}, before the receipt it acknowledges ` +
      `(${isoTime(receipt.issuedAtMs)}, less ${MAX_CLOCK_SKEW_MS} ms)`,
    'acknowledgement.issuedAtMs',
  );
}

/**
 * Verifies a bundle offline with `crypto`'s keys from `keys`.
 * @example
 *   const trust = parseTrustBundle(json, nobleCrypto);
 *   const v = verifyAccessBundle(envelopes, trustBundleReceiptKeyLookup(trust), nobleCrypto);
 *   if (!v.ok) console.log(v.code, v.field);
 */
export function verifyAccessBundle(
  envelopes: AccessBundleEnvelopes,
  keys: CoreReceiptKeyLookup,
  crypto: VerifierCrypto,
): AccessBundleVerification {
  const failed = (p: BundleProblem): AccessBundleVerification => ({ ok: false, ...p });
  const request = decoded(() => decodeAccessRequest(envelopes.request.body));
  if (isBundleProblem(request)) return failed(request);
  const requestSignature = signedBy(
    crypto,
    keys,
    'access-request',
    envelopes.request,
    request.requester,
    request.issuedAtMs,
    'request',
  );
  if (requestSignature !== undefined) return failed(requestSignature);
  const receipt = checkAccessReceipt(
    crypto,
    keys,
    request.provider,
    { envelope: envelopes.request, decoded: request },
    envelopes.receipt,
  );
  if (isBundleProblem(receipt)) return failed(receipt);

  const receiptDigest = crypto.sha256(envelopes.receipt.body);
  const findings: BundleProblem[] = [];
  let acknowledgement: Acknowledgement | undefined;
  if (envelopes.acknowledgement === undefined) {
    findings.push(problem('NO_ACKNOWLEDGEMENT', `${request.requester} never acknowledged the receipt`));
  } else {
    const ackEnvelope = envelopes.acknowledgement;
    const ack = decoded(() => decodeAcknowledgement(ackEnvelope.body));
    if (isBundleProblem(ack)) return failed(ack);
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
      crypto,
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
    const ackTime = acknowledgementTimeProblem(receipt, ack);
    if (ackTime !== undefined) return failed(ackTime);
    if (ack.status === 'DISPUTED') {
      findings.push(problem('DISPUTED', `${request.requester} disputed the report: ${ack.disputeReason}`));
    }
    acknowledgement = ack;
  }
  return {
    ok: true,
    receiptDigest: toHex(receiptDigest),
    findings,
    bundle: { ...envelopes, decoded: { request, receipt, acknowledgement } },
  };
}

/**
 * Receipt keys from the consortium trust bundle, for offline verification, by the registry view's rule
 * (`keySignsAt`). The keys are the ones the bundle was parsed with, so verify with the same crypto backend.
 */
export function trustBundleReceiptKeyLookup(trust: TrustBundle): CoreReceiptKeyLookup {
  return {
    receiptKey(mspId, kid, atMs) {
      const key = trust.key(mspId, kid);
      return key !== undefined && key.role === 'receipt' && keySignsAt(key, atMs) ? key.publicKey : undefined;
    },
  };
}

/**
 * The one rule of a registered key's window, for the chain's registry view and the trust bundle alike: a key
 * signs from its `validFrom` until its `validUntil` (rotation or revocation closes the window; none: still open).
 */
export const keySignsAt = (
  key: { readonly validFromMs: number; readonly validUntilMs: number | null },
  atMs: number,
): boolean => atMs >= key.validFromMs && (key.validUntilMs === null || atMs < key.validUntilMs);
