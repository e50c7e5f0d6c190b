/**
 * Offline proof of an access (issue 10: "the requester can prove the access with the bundle, an inclusion proof
 * and the anchored checkpoint, offline"), in Node and in a browser: the bundle verifies (access-bundle-verifier),
 * the attestation of the access leaf verifies with the trust bundle and is anchored (attestation-verifier with
 * `requireAnchored`: inclusion proof to a checkpoint signed by a log key of the leaf's institution valid in its
 * window, the anchor on the bundle's channel), and the leaf is this bundle's (`accessLeafProblem`). The crypto is
 * the trust bundle's backend (node:crypto or noble); node/p2p access-proof.ts and access-evidence.ts are the
 * node:crypto faces of this one implementation. No network: the chain's record of the anchor is an online check
 * left to the caller, as for every attestation.
 *
 * Both inputs are attacker-controlled (a file); failures are results with a stable code, never exceptions.
 * `explainAccessProof` gives the same verdict as named checks (steps.ts `ACCESS_PROOF_STEP_IDS`).
 */
import { equalBytes } from '../../chaincode/src/protocol-portable.ts';
import type { AccessRole__Output } from '../api/generated/lianxin/v1/AccessRole.ts';
import type { ChainAnchor__Output } from '../api/generated/lianxin/v1/ChainAnchor.ts';
import type { LogLeaf__Output } from '../api/generated/lianxin/v1/LogLeaf.ts';
import {
  trustBundleReceiptKeyLookup,
  verifyAccessBundle,
  type AccessBundleEnvelopes,
  type AccessBundleVerification,
  type BundleProblem,
  type VerifiedAccessBundle,
} from './access-bundle-verifier.ts';
import { explainAttestation } from './attestation-verifier.ts';
import type { VerifierCrypto } from './crypto-port.ts';
import { toHex } from './bytes.ts';
import {
  decodeAccessReceipt,
  decodeAccessRequest,
  type AccessReceipt,
  type AccessRequest,
  type SignedEnvelope,
} from './exchange-codec.ts';
import { ACCESS_PROOF_STEP_IDS, step, type AccessProofStepId, type VerificationStep } from './steps.ts';
import type { TrustBundle } from './trust-bundle.ts';

/** Which side of the exchange logs the leaf. */
export type AccessSide = 'provided' | 'obtained';

/** The role a leaf in each side's log states (evidence.proto `AccessRole`). */
export const ACCESS_ROLES: Readonly<Record<AccessSide, AccessRole__Output>> = {
  provided: 'ACCESS_ROLE_PROVIDED',
  obtained: 'ACCESS_ROLE_OBTAINED',
};

/** Where the access leaf was proven: whose log, at which index, under which anchored checkpoint. */
export interface ProvenAccess {
  /** The institution whose log holds the leaf (the attestation's issuer). */
  readonly loggedBy: string;
  readonly origin: string;
  readonly leafIndex: number;
  /** Size of the anchored checkpoint the inclusion proof is against. */
  readonly size: number;
  readonly anchor: ChainAnchor__Output;
}

export type AccessProofVerification =
  (VerifiedAccessBundle & { readonly access: ProvenAccess }) | ({ readonly ok: false } & BundleProblem);

export interface VerifyAccessProofOptions {
  /** The verifier's clock (default now), for the attestation's issue time. */
  readonly now?: number;
}

export interface ExplainedAccessProof {
  /** Every check passed: the bundle, its acknowledgement (accepted), and with an attestation, the proven leaf. */
  readonly ok: boolean;
  /**
   * The verdict `verifyAccessProof` gives (with an attestation) or `verifyAccessBundle` (a bundle alone). A bundle
   * whose acknowledgement is missing or disputed verifies with `findings`; its steps fail at `acknowledgement`.
   */
  readonly verification: AccessProofVerification | AccessBundleVerification;
  /** Each check in order: passed, failed (the first failure stops the run), not reached or not requested. */
  readonly steps: readonly VerificationStep[];
}

/**
 * Whether `leaf` (decoded from attacker-controlled bytes, its inclusion already proven) is the access leaf of this
 * bundle in the log of one of its two institutions: every digest that of the bundle's messages as they travelled,
 * the institutions and subject the receipt states, and the role that of the log's owner. A problem is
 * `ACCESS_LEAF_MISMATCH` naming the leaf's field. This is the one place that says how a leaf and a bundle
 * correspond; node/p2p access-evidence.ts writes leaves by it.
 */
export function accessLeafProblem(
  crypto: VerifierCrypto,
  leaf: LogLeaf__Output,
  envelopes: AccessBundleEnvelopes,
  receipt: AccessReceipt,
): BundleProblem | undefined {
  const mismatch = (field: string, reason: string): BundleProblem => ({
    code: 'ACCESS_LEAF_MISMATCH',
    reason,
    field: `leaf.access.${field}`,
  });
  const access = leaf.access;
  if (access === null || access === undefined) {
    return {
      code: 'ACCESS_LEAF_MISMATCH',
      reason: `the attested leaf is a ${leaf.entry ?? 'empty'} leaf, not an access`,
      field: 'leaf',
    };
  }
  const digests = [
    ['requestDigest', envelopes.request, 'request'],
    ['receiptDigest', envelopes.receipt, 'receipt'],
    ['acknowledgementDigest', envelopes.acknowledgement, 'acknowledgement'],
  ] as const;
  for (const [field, envelope, name] of digests) {
    if (envelope === undefined) return mismatch(field, `the bundle has no ${name} for the leaf's digest`);
    if (!equalBytes(access[field], crypto.sha256(envelope.body))) {
      return mismatch(field, `the leaf's ${name} digest is not that of the bundle's ${name}`);
    }
  }
  for (const field of ['requester', 'provider', 'subject'] as const) {
    if (access[field] !== receipt[field]) {
      return mismatch(field, `the leaf names ${field} ${access[field]}, the receipt ${receipt[field]}`);
    }
  }
  const expected =
    leaf.org === receipt.provider
      ? ACCESS_ROLES.provided
      : leaf.org === receipt.requester
        ? ACCESS_ROLES.obtained
        : undefined;
  if (expected === undefined) {
    return {
      code: 'ACCESS_LEAF_MISMATCH',
      reason: `the leaf is in ${leaf.org}'s log, neither the requester's nor the provider's`,
      field: 'leaf.org',
    };
  }
  if (access.role !== expected) {
    return mismatch('role', `the leaf in ${leaf.org}'s log says ${access.role}, not ${expected}`);
  }
  return undefined;
}

/**
 * Verifies an access proof offline with the trust bundle (and its crypto backend).
 * @example
 *   const { envelopes, accessAttestation } = parseAccessProofJson(JSON.parse(text));
 *   const v = verifyAccessProof(envelopes, accessAttestation, parseTrustBundle(trustJson, nobleCrypto));
 *   if (!v.ok) console.log(v.code, v.attestationCode, v.field);
 */
export function verifyAccessProof(
  envelopes: AccessBundleEnvelopes,
  attestation: Uint8Array,
  trust: TrustBundle,
  options: VerifyAccessProofOptions = {},
): AccessProofVerification {
  return prove(envelopes, attestation, trust, options).verification;
}

/**
 * An access receipt file as a list of named checks, for people: what `lianxin receipt verify --steps` prints and
 * the Verify page shows. Without an attestation (a bundle alone, `lianxin report request --out`), the leaf's
 * checks are `not-requested`.
 */
export function explainAccessProof(
  envelopes: AccessBundleEnvelopes,
  attestation: Uint8Array | undefined,
  trust: TrustBundle,
  options: VerifyAccessProofOptions = {},
): ExplainedAccessProof {
  const { verification, outcomes } =
    attestation === undefined ? bundleOnly(envelopes, trust) : prove(envelopes, attestation, trust, options);
  let stopped = false;
  const steps = ACCESS_PROOF_STEP_IDS.map((id) => {
    const outcome = outcomes.get(id);
    if (stopped) return step(id, 'not-reached', '');
    if (outcome === undefined) {
      return step(id, 'not-requested', 'the file holds no attestation of the access leaf (lianxin receipt prove)');
    }
    if (outcome.status === 'failed') stopped = true;
    return outcome;
  });
  return { ok: steps.every((s) => s.status === 'passed' || s.status === 'not-requested'), verification, steps };
}

type Outcomes = Map<AccessProofStepId, VerificationStep>;

/** The step a bundle problem belongs to: the message its field names. */
function bundleStepOf(problem: BundleProblem): AccessProofStepId {
  const field = problem.field ?? '';
  if (field.startsWith('receipt')) return 'receipt-signature';
  if (field.startsWith('acknowledgement')) return 'acknowledgement';
  return 'request-signature';
}

const failed = (id: AccessProofStepId, problem: BundleProblem | { code: string; reason: string; field?: string }) =>
  step(id, 'failed', problem.reason, problem.field === undefined ? { code: problem.code } : problem);

const at = (ms: number) => new Date(ms).toISOString();

const requestPassed = (request: AccessRequest, envelope: SignedEnvelope) =>
  step(
    'request-signature',
    'passed',
    `${request.requester} asked ${request.provider} for ${request.kinds.join(', ')} of ${request.subject} ` +
      `(${request.purpose}) at ${at(request.issuedAtMs)}, signed with receipt key ${envelope.signature.kid}`,
  );

const receiptPassed = (crypto: VerifierCrypto, receipt: AccessReceipt, envelope: SignedEnvelope) =>
  step(
    'receipt-signature',
    'passed',
    `${receipt.provider} served ${receipt.records.length} record(s) at ${at(receipt.issuedAtMs)}, signed with ` +
      `receipt key ${envelope.signature.kid}; receipt digest ${toHex(crypto.sha256(envelope.body))}`,
  );

/** The bundle's three steps: passed with what was established, or the first failure or finding. */
function bundleSteps(
  crypto: VerifierCrypto,
  envelopes: AccessBundleEnvelopes,
  bundle: AccessBundleVerification,
  outcomes: Outcomes,
): void {
  if (!bundle.ok) {
    // The verifier checks the messages in order: a failure at the receipt means the request passed, and so on.
    const failedAt = bundleStepOf(bundle);
    if (failedAt !== 'request-signature') {
      outcomes.set('request-signature', requestPassed(decodeAccessRequest(envelopes.request.body), envelopes.request));
    }
    if (failedAt === 'acknowledgement') {
      const receipt = decodeAccessReceipt(envelopes.receipt.body);
      outcomes.set('receipt-signature', receiptPassed(crypto, receipt, envelopes.receipt));
    }
    outcomes.set(failedAt, failed(failedAt, bundle));
    return;
  }
  const { request, receipt, acknowledgement } = bundle.bundle.decoded;
  outcomes.set('request-signature', requestPassed(request, envelopes.request));
  outcomes.set('receipt-signature', receiptPassed(crypto, receipt, envelopes.receipt));
  const finding = bundle.findings[0];
  if (finding !== undefined) outcomes.set('acknowledgement', failed('acknowledgement', finding));
  else if (acknowledgement !== undefined) {
    outcomes.set(
      'acknowledgement',
      step(
        'acknowledgement',
        'passed',
        `${acknowledgement.requester} accepted the receipt at ${at(acknowledgement.issuedAtMs)}, signed with ` +
          `receipt key ${envelopes.acknowledgement?.signature.kid ?? ''}`,
      ),
    );
  }
}

function bundleOnly(
  envelopes: AccessBundleEnvelopes,
  trust: TrustBundle,
): { verification: AccessBundleVerification; outcomes: Outcomes } {
  const verification = verifyAccessBundle(envelopes, trustBundleReceiptKeyLookup(trust), trust.crypto);
  const outcomes: Outcomes = new Map();
  bundleSteps(trust.crypto, envelopes, verification, outcomes);
  return { verification, outcomes };
}

/** The verdict and each step's outcome; once the verdict is a failure, later steps have no outcome. */
function prove(
  envelopes: AccessBundleEnvelopes,
  attestation: Uint8Array,
  trust: TrustBundle,
  options: VerifyAccessProofOptions,
): { verification: AccessProofVerification; outcomes: Outcomes } {
  const outcomes: Outcomes = new Map();
  const bundle = verifyAccessBundle(envelopes, trustBundleReceiptKeyLookup(trust), trust.crypto);
  bundleSteps(trust.crypto, envelopes, bundle, outcomes);
  if (!bundle.ok) return { verification: bundle, outcomes };

  const explained = explainAttestation(attestation, trust, {
    requireAnchored: true,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  for (const s of explained.steps) {
    if (s.id === 'artifact') continue;
    const field = s.field === undefined ? {} : { field: `accessAttestation.${s.field}` };
    outcomes.set(s.id, { ...s, ...field });
  }
  const proven = explained.verification;
  if (!proven.ok) {
    return {
      verification: {
        ok: false,
        code: 'ACCESS_PROOF_REJECTED',
        attestationCode: proven.code,
        reason: `the access leaf's attestation: ${proven.code}: ${proven.reason}`,
        field: proven.field === undefined ? 'accessAttestation' : `accessAttestation.${proven.field}`,
      },
      outcomes,
    };
  }
  const mismatch = accessLeafProblem(trust.crypto, proven.leaf, envelopes, bundle.bundle.decoded.receipt);
  if (mismatch !== undefined) {
    outcomes.set('access-leaf', failed('access-leaf', mismatch));
    return { verification: { ok: false, ...mismatch }, outcomes };
  }
  // requireAnchored: a verified attestation has its anchor.
  const anchor = proven.anchor;
  if (anchor === null) throw new Error('an anchored attestation without its anchor');
  outcomes.set(
    'access-leaf',
    step(
      'access-leaf',
      'passed',
      `leaf ${proven.leafIndex} of ${proven.origin} is this exchange's access as ${proven.issuer} logged it ` +
        `(${proven.leaf.access?.role ?? ''})`,
    ),
  );
  return {
    verification: {
      ...bundle,
      access: {
        loggedBy: proven.issuer,
        origin: proven.origin,
        leafIndex: proven.leafIndex,
        size: proven.size,
        anchor,
      },
    },
    outcomes,
  };
}
