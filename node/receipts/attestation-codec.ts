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
 * Serialized attestations the node built, by object. Only for objects the signer made and froze; copies are not
 * in it.
 */
const encodedBytes = new WeakMap<object, Uint8Array>();

/** Records `bytes` as the serialization of `attestation`, which the caller must not change afterwards. */
export function rememberEncoding(attestation: Attestation__Output, bytes: Uint8Array): void {
  encodedBytes.set(attestation, bytes);
}

/** The bytes `rememberEncoding` recorded for this very object, if any. */
export function rememberedEncoding(attestation: object): Uint8Array | undefined {
  return encodedBytes.get(attestation);
}
