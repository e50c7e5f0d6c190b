/** The project's one crypto surface: SHA-256 and low-S ECDSA P-256 on node:crypto (DESIGN §3, §9). */
export { sha256, sha256Hex } from './hash.ts';
export {
  signP256,
  verifyP256,
  verifyP256Async,
  isLowS,
  publicKeyOf,
  decodeDerSignature,
  encodeDerSignature,
  type EcdsaSignature,
  type VerifyResult,
} from './ecdsa.ts';
export { CryptoError, type CryptoErrorCode } from './errors.ts';
