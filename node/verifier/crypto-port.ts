/**
 * The verifier core's whole crypto surface: SHA-256 and the ECDSA P-256 curve check. Two backends implement it,
 * node:crypto (node-crypto.ts, OpenSSL: the speed) and @noble/curves + @noble/hashes (noble-crypto.ts: runs in a
 * browser). Everything a backend could disagree on is decided before it is called, by the core's one parser
 * (der.ts): strict DER and low-S for signatures (as Fabric 2.5, bccsp/sw/ecdsa.go), the SPKI structure and P-256
 * OIDs for keys. A backend only checks that a point is on the curve and that (r, s) verifies.
 */

/** A P-256 public key imported by one backend; use it only with that backend. */
export interface P256PublicKey {
  /** The SPKI DER it was read from. */
  readonly spki: Uint8Array;
  /** The SEC 1 encoded point (65 bytes uncompressed or 33 compressed) taken from the SPKI. */
  readonly point: Uint8Array;
  /** The backend's own key object (a node:crypto KeyObject, a noble point). */
  readonly native: unknown;
}

export interface VerifierCrypto {
  /** `node:crypto` or `noble`, for reports and benchmarks. */
  readonly name: string;
  /** SHA-256 of the concatenated parts. */
  sha256(...parts: readonly Uint8Array[]): Uint8Array;
  /** The key of a SEC 1 point on P-256 (from a validated SPKI); undefined when the point is not on the curve. */
  importP256(spki: Uint8Array, point: Uint8Array): P256PublicKey | undefined;
  /**
   * ECDSA P-256 over SHA-256(message) with the signature's r and s, already range- and low-S-checked by the core.
   * `signature` is the strict DER they came from (what node:crypto takes), `compact` is r ‖ s (what noble takes).
   */
  verifyP256(
    key: P256PublicKey,
    message: Uint8Array,
    signature: { readonly der: Uint8Array; readonly compact: Uint8Array },
  ): boolean;
}
