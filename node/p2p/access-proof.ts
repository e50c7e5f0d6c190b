/**
 * Offline proof of an access (issue 10: "the requester can prove the access with the bundle, an inclusion proof
 * and the anchored checkpoint, offline"): the bundle verifies (`verifyBundle`), the attestation of the access
 * leaf verifies with the trust bundle and is anchored (inclusion proof to a checkpoint signed by a log key of the
 * leaf's institution valid when it was issued, the anchor on the bundle's channel: node/receipts
 * `verifyAttestation`), and the leaf is this bundle's (`accessLeafProblem`). No network: the chain's record of
 * the anchor is an online check left to the caller, as for every attestation.
 *
 * Both inputs are attacker-controlled (a file); failures are results with a stable code, never exceptions.
 */
import type { ChainAnchor__Output } from '../api/generated/lianxin/v1/ChainAnchor.ts';
import { verifyAttestation, type TrustBundle } from '../receipts/index.ts';
import { accessLeafProblem } from './access-evidence.ts';
import {
  trustBundleReceiptKeys,
  verifyBundle,
  type BundleEnvelopes,
  type BundleProblem,
  type VerifiedBundle,
} from './bundle-verifier.ts';

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
  (VerifiedBundle & { readonly access: ProvenAccess }) | ({ readonly ok: false } & BundleProblem);

export interface VerifyAccessProofOptions {
  /** The verifier's clock (default now), for the attestation's issue time. */
  readonly now?: number;
}

/**
 * @example
 *   const v = verifyAccessProof(parseBundleJson(json), attestationBytes, parseTrustBundle(trustJson));
 *   if (!v.ok) console.log(v.code, v.attestationCode, v.field);
 */
export function verifyAccessProof(
  envelopes: BundleEnvelopes,
  attestation: Uint8Array,
  trust: TrustBundle,
  options: VerifyAccessProofOptions = {},
): AccessProofVerification {
  const bundle = verifyBundle(envelopes, trustBundleReceiptKeys(trust));
  if (!bundle.ok) return bundle;
  const proven = verifyAttestation(attestation, trust, {
    requireAnchored: true,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  if (!proven.ok) {
    return {
      ok: false,
      code: 'ACCESS_PROOF_REJECTED',
      attestationCode: proven.code,
      reason: `the access leaf's attestation: ${proven.code}: ${proven.reason}`,
      field: proven.field === undefined ? 'accessAttestation' : `accessAttestation.${proven.field}`,
    };
  }
  const mismatch = accessLeafProblem(proven.leaf, envelopes, bundle.bundle);
  if (mismatch !== undefined) return { ok: false, ...mismatch };
  // requireAnchored: a verified attestation has its anchor.
  const anchor = proven.anchor;
  if (anchor === null) throw new Error('an anchored attestation without its anchor');
  return {
    ...bundle,
    access: {
      loggedBy: proven.issuer,
      origin: proven.origin,
      leafIndex: proven.leafIndex,
      size: proven.size,
      anchor,
    },
  };
}
