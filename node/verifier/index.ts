/**
 * The verification core: attestations and notarization receipts, access receipt bundles and their proofs, trust
 * bundles, checkpoints and RFC 9162 proofs,
 * the same code in Node and in a browser, the crypto behind `VerifierCrypto` (node-crypto.ts in Node,
 * noble-crypto.ts in a browser; import the backend module you want, this face imports neither).
 * @example
 * const bundle = parseTrustBundle(bundleText, nobleCrypto);
 * const { ok, steps } = explainAttestation(attestationBytes, bundle);
 */
export type { P256PublicKey, VerifierCrypto } from './crypto-port.ts';
export {
  attestationSigningInput,
  committedDigest,
  explainAttestation,
  verifyAttestation,
  type AttestationRejection,
  type AttestationRejectionCode,
  type AttestationVerification,
  type ExplainAttestationOptions,
  type ExplainedAttestation,
  type VerifiedAttestation,
  type VerifyAttestationOptions,
} from './attestation-verifier.ts';
export { decodeAttestation, decodeLogLeaf, encodeAttestation, type DecodedAttestation } from './evidence-codec.ts';
export {
  batchSigningInput,
  buildBatchTree,
  checkBatchPath,
  type BatchPosition,
  type BatchProofProblem,
  type BatchTree,
} from './attestation-batch.ts';
export {
  MAX_TRUST_BUNDLE_BYTES,
  parseTrustBundle,
  requireTrustBundleSize,
  type TrustBundle,
  type TrustBundleJson,
  type TrustBundleKey,
  type TrustBundleOrganization,
  type TrustBundleOrigin,
  type TrustedKey,
  type TrustedOrganization,
} from './trust-bundle.ts';
export { verifyP256, type P256Verification } from './p256.ts';
export {
  ACCESS_PROOF_STEP_IDS,
  STEP_IDS,
  STEP_TITLES,
  type AccessProofStepId,
  type AttestationStepId,
  type StepId,
  type StepStatus,
  type VerificationStep,
} from './steps.ts';
export { ReceiptsError, type ReceiptsErrorCode } from './errors.ts';
export * from './constants.ts';
export { toHex } from './bytes.ts';
export {
  checkAccessReceipt,
  exchangeSigningInput,
  trustBundleReceiptKeyLookup,
  verifyAccessBundle,
  type AccessBundleEnvelopes,
  type AccessBundleVerification,
  type BundleProblem,
  type BundleProblemCode,
  type CoreReceiptKeyLookup,
  type DecodedAccessBundle,
  type VerifiedAccessBundle,
} from './access-bundle-verifier.ts';
export {
  decodeAccessReceipt,
  decodeAccessRequest,
  decodeAcknowledgement,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
  type SignedEnvelope,
} from './exchange-codec.ts';
export { ExchangeMessageError, type ExchangeMessageErrorCode } from './errors.ts';
export {
  accessLeafProblem,
  explainAccessProof,
  verifyAccessProof,
  type AccessProofVerification,
  type ExplainedAccessProof,
  type ProvenAccess,
  type VerifyAccessProofOptions,
} from './access-proof-verifier.ts';
export {
  looksLikeAccessFile,
  parseAccessProofJson,
  parseBundleJson,
  type AccessProofFile,
} from './access-proof-file.ts';
