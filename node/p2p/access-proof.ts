/**
 * Offline proof of an access, on node:crypto: the verifier core's one implementation
 * (node/verifier/access-proof-verifier.ts, which the browser runs on noble) with the bundle as node/p2p types it.
 * The trust bundle is node/receipts' (keys imported by node:crypto). Failures are results with a stable code.
 */
import type { TrustBundle } from '../receipts/index.ts';
import {
  explainAccessProof as coreExplain,
  verifyAccessProof as coreVerify,
  type ExplainedAccessProof,
  type ProvenAccess,
  type VerifyAccessProofOptions,
} from '../verifier/access-proof-verifier.ts';
import type { BundleEnvelopes, BundleProblem, VerifiedBundle } from './bundle-verifier.ts';

export type {
  ExplainedAccessProof,
  ProvenAccess,
  VerifyAccessProofOptions,
} from '../verifier/access-proof-verifier.ts';

export type AccessProofVerification =
  (VerifiedBundle & { readonly access: ProvenAccess }) | ({ readonly ok: false } & BundleProblem);

/**
 * @example
 *   const v = verifyAccessProof(parseBundleJson(json), attestationBytes, parseTrustBundle(trustJson));
 *   if (!v.ok) console.log(v.code, v.attestationCode, v.field);
 */
export const verifyAccessProof = (
  envelopes: BundleEnvelopes,
  attestation: Uint8Array,
  trust: TrustBundle,
  options: VerifyAccessProofOptions = {},
): AccessProofVerification => coreVerify(envelopes, attestation, trust, options);

/** The same verdict as named checks (`lianxin receipt verify --steps`); without an attestation, the bundle's. */
export const explainAccessProof = (
  envelopes: BundleEnvelopes,
  attestation: Uint8Array | undefined,
  trust: TrustBundle,
  options: VerifyAccessProofOptions = {},
): ExplainedAccessProof => coreExplain(envelopes, attestation, trust, options);
