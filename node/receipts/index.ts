/** Attestations and notarization receipts: signing them, the consortium trust bundle, offline verification. */
export {
  signAttestation,
  signAttestationBatch,
  attestationBytes,
  receiptKeyOf,
  type AttestationBody,
  type ReceiptKey,
  type UnsignedAttestation,
} from './attestation-signer.ts';
export {
  decodeAttestation,
  decodeLogLeaf,
  encodeLogLeaf,
  rememberedEncoding,
  type DecodedAttestation,
} from './attestation-codec.ts';
export {
  buildTrustBundle,
  parseTrustBundle,
  type TrustBundle,
  type TrustBundleJson,
  type TrustBundleKey,
  type TrustBundleOrganization,
  type TrustBundleOrigin,
  type TrustBundleSources,
  type TrustedKey,
  type TrustedOrganization,
} from './trust-bundle.ts';
export { exportTrustBundle } from './trust-bundle-export.ts';
export {
  explainAttestation,
  verifyAttestation,
  type ExplainedAttestation,
  type AttestationRejection,
  type AttestationRejectionCode,
  type AttestationVerification,
  type VerifiedAttestation,
  type VerifyAttestationOptions,
} from './verify.ts';
export { ReceiptsError, type ReceiptsErrorCode } from './errors.ts';
export { ATTESTATION_FORMAT, ATTESTATION_FORMAT_V1, TRUST_BUNDLE_FORMAT } from './constants.ts';
