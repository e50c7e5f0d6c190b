/**
 * The verifier's crypto port on @noble/curves (P-256) and @noble/hashes (SHA-256): pure JavaScript, for the
 * browser. low-S is required here as well, though the core has already refused high-S signatures.
 */
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { VerifierCrypto } from './crypto-port.ts';

type NoblePoint = ReturnType<typeof p256.Point.fromBytes>;

export const nobleCrypto: VerifierCrypto = {
  name: 'noble',
  sha256(...parts) {
    const hash = sha256.create();
    for (const part of parts) hash.update(part);
    return hash.digest();
  },
  importP256(spki, point) {
    try {
      const native: NoblePoint = p256.Point.fromBytes(point);
      native.assertValidity();
      return { spki, point, native };
    } catch {
      return undefined;
    }
  },
  verifyP256(key, message, signature) {
    try {
      return p256.verify(signature.compact, message, key.point, { prehash: true, lowS: true, format: 'compact' });
    } catch {
      return false;
    }
  },
};
