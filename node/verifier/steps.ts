/**
 * A verification as a list of named checks, each passed, failed (with the verifier's code and reason) or not
 * reached, in the order they run: what `lianxin verify` and `lianxin receipt verify --steps` print and the Verify
 * page renders. An access proof's checks are the bundle's three signed messages, then its access leaf's
 * attestation under the attestation's own step names, then the leaf's correspondence to the bundle.
 */

/** The checks an attestation's proof of a leaf makes, in order: of its own, or of an access proof's leaf. */
const ATTESTATION_CHECKS = [
  'format',
  'batch-proof',
  'node-signature',
  'leaf-hash',
  'checkpoint-signature',
  'inclusion-proof',
  'anchor',
] as const;

/** The checks of an attestation or notarization receipt, in order. */
export const STEP_IDS = [...ATTESTATION_CHECKS, 'artifact'] as const;
export type AttestationStepId = (typeof STEP_IDS)[number];

/** The checks of an access proof (`lianxin receipt prove --out`), in order; a bundle alone has the first three. */
export const ACCESS_PROOF_STEP_IDS = [
  'request-signature',
  'receipt-signature',
  'acknowledgement',
  ...ATTESTATION_CHECKS,
  'access-leaf',
] as const;
export type AccessProofStepId = (typeof ACCESS_PROOF_STEP_IDS)[number];

export type StepId = AttestationStepId | AccessProofStepId;

export const STEP_TITLES: Readonly<Record<StepId, string>> = {
  'request-signature':
    'Request signature: the requester’s receipt key, valid at the request’s issue time, signed the access request',
  'receipt-signature':
    'Receipt signature: the provider the request names signed a receipt of this very request with its receipt key valid at the receipt’s issue time',
  acknowledgement:
    'Acknowledgement: the requester signed its acceptance of this receipt (its digest and request ID), not a dispute',
  'access-leaf':
    'Access leaf: the attested leaf is this bundle’s (the digests of its three messages, the parties, the subject), in the requester’s or the provider’s log with that side’s role',
  format: 'Format: a well-formed lianxin-attestation/v2 (or v1)',
  'batch-proof':
    'Batch proof: (v2) the attestation is where it says in the batch whose root the node signed (RFC 9162 §2.1.3.2)',
  'node-signature': 'Node signature: an active issuer’s receipt key, valid at the issue time, signed it',
  'leaf-hash': 'Leaf hash: the leaf decodes and belongs to the issuer; its RFC 9162 hash',
  'checkpoint-signature':
    'Checkpoint signature: a registered log key of the issuer, valid in its window, signed the checkpoint',
  'inclusion-proof': 'Inclusion proof: the leaf is in the tree the checkpoint commits to (RFC 9162 §2.1.3.2)',
  anchor: 'Anchor: on the trust bundle’s channel (the transaction itself is not looked up offline)',
  artifact: 'Artifact: the dropped document’s SHA-256 is the digest the leaf commits to',
};

export type StepStatus = 'passed' | 'failed' | 'not-reached' | 'not-requested';

export interface VerificationStep {
  readonly id: StepId;
  readonly title: string;
  readonly status: StepStatus;
  /** What was established, or why it failed (the rejection's reason). */
  readonly detail: string;
  /** The rejection code when it failed. */
  readonly code?: string;
  /** The attestation field to blame, when it failed and one is. */
  readonly field?: string;
}

export function step(
  id: StepId,
  status: StepStatus,
  detail: string,
  failure?: { code: string; field?: string },
): VerificationStep {
  const base = { id, title: STEP_TITLES[id], status, detail };
  if (failure === undefined) return base;
  return failure.field === undefined
    ? { ...base, code: failure.code }
    : { ...base, code: failure.code, field: failure.field };
}
