/**
 * ECDSA P-256 / SHA-256 verification as Fabric 2.5 accepts signatures (strict DER, low-S), on a crypto port.
 * The same rule for every backend: the core reads the signature (der.ts), the backend only does the curve check.
 */
import type { P256PublicKey, VerifierCrypto } from './crypto-port.ts';
import { readEcdsaSignature } from './der.ts';

export type P256Verification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** `signature` is attacker-controlled; `key` must have been imported by `crypto`. */
export function verifyP256(
  crypto: VerifierCrypto,
  key: P256PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): P256Verification {
  const read = readEcdsaSignature(signature);
  if (!read.ok) return read;
  return crypto.verifyP256(key, message, read.signature)
    ? { ok: true }
    : { ok: false, reason: 'signature is not valid' };
}
