/** The attestation codec lives in the verifier core (node/verifier), which runs in browsers too. */
export {
  decodeAttestation,
  decodeLogLeaf,
  encodeAttestation,
  encodeLogLeaf,
  normalizeAttestation,
  type DecodedAttestation,
} from '../verifier/evidence-codec.ts';
