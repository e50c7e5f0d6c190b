/** The verifier's crypto port on node:crypto (OpenSSL): ~20x the rate of pure-JS curves (DESIGN §9). Node only. */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { P256PublicKey, VerifierCrypto } from './crypto-port.ts';
import { readP256SpkiPoint } from './der.ts';

export const nodeCrypto: VerifierCrypto = {
  name: 'node:crypto',
  sha256(...parts) {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return hash.digest();
  },
  importP256(spki, point) {
    try {
      const native = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
      if (native.asymmetricKeyType !== 'ec' || native.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
        return undefined;
      return { spki, point, native };
    } catch {
      return undefined;
    }
  },
  verifyP256(key, message, signature) {
    return verify('sha256', message, { key: keyObjectOf(key), dsaEncoding: 'der' }, signature.der);
  },
};

/** The node:crypto KeyObject of a key imported by `nodeCrypto` (for node-side code that signs or verifies directly). */
export function keyObjectOf(key: P256PublicKey): KeyObject {
  if (!isKeyObject(key.native)) throw new TypeError('the key was not imported by the node:crypto verifier backend');
  return key.native;
}

function isKeyObject(value: unknown): value is KeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'public' &&
    'asymmetricKeyType' in value
  );
}

/** KeyObjects as the node:crypto backend's keys, each converted once (the registry view keeps its objects). */
const imported = new WeakMap<KeyObject, P256PublicKey>();

/**
 * A node:crypto KeyObject (a registry view's key) as this backend's key, so node-side checks run the core's rule
 * (p256.ts: strict DER, low-S) instead of calling `verify` themselves. A key that is no P-256 point gets an empty
 * point and never verifies.
 */
export function coreKeyOf(key: KeyObject): P256PublicKey {
  let core = imported.get(key);
  if (core === undefined) {
    const spki = new Uint8Array(key.export({ type: 'spki', format: 'der' }));
    core = { spki, point: readP256SpkiPoint(spki) ?? new Uint8Array(0), native: key };
    imported.set(key, core);
  }
  return core;
}
