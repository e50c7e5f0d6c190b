/**
 * The attestation codec lives in the verifier core (node/verifier), which runs in browsers too. This node face
 * adds what only the issuing node needs: the serializations its signer made, remembered by object, so that the
 * gRPC layer and `attestationBytes` send those bytes instead of encoding each answer again.
 */
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';

export {
  decodeAttestation,
  decodeLogLeaf,
  encodeAttestation,
  encodeAttestationTail,
  encodeLogLeaf,
  encodeNormalized,
  normalizeAttestation,
  type DecodedAttestation,
} from '../verifier/evidence-codec.ts';

/**
 * Where an attestation the node built keeps its serialization: a property under a symbol of this module, not
 * enumerable, so that copies (`{ ...attestation }`, JSON, structuredClone) do not carry it and are encoded again.
 * A property rather than a WeakMap keyed by the object: WeakMap.set cost ≈ 0.6 µs per answer against ≈ 0.15 µs,
 * and each entry is an ephemeron the GC processes apart (attest7).
 */
const ENCODED = Symbol('lianxin.attestation.encoded');

/**
 * Records `bytes` as the serialization of `attestation`, which the caller must not change afterwards; before
 * freezing it, once per object (the signer does).
 */
export function rememberEncoding(attestation: Attestation__Output, bytes: Uint8Array): void {
  Object.defineProperty(attestation, ENCODED, { value: bytes });
}

/** The bytes `rememberEncoding` recorded for this very object, if any. */
export function rememberedEncoding(attestation: object): Uint8Array | undefined {
  return (attestation as { readonly [ENCODED]?: Uint8Array })[ENCODED];
}
