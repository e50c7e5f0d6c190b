/**
 * Offline verification of attestations and notarization receipts: the verifier core (node/verifier), which runs
 * unchanged in a browser; a bundle read by node/receipts parseTrustBundle verifies with node:crypto.
 */
export {
  explainAttestation,
  verifyAttestation,
  type AttestationRejection,
  type AttestationRejectionCode,
  type AttestationVerification,
  type ExplainAttestationOptions,
  type ExplainedAttestation,
  type VerifiedAttestation,
  type VerifyAttestationOptions,
} from '../verifier/attestation-verifier.ts';
