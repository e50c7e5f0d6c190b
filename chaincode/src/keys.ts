/**
 * Public keys in the registry: SPKI DER, `kid` = hex SHA-256 of the SPKI DER (DESIGN §3), ECDSA P-256 verified
 * with low-S only, as Fabric 2.5 does (bccsp/sw/ecdsa.go "Invalid S. Must be smaller than half the order").
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

export { SUITE_P256, SUITES, type Suite } from './roles';

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

export function kidOf(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}

/** Parses SPKI DER and requires a P-256 key; undefined otherwise. */
export function parseP256Spki(spkiDer: Uint8Array): KeyObject | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies a DER ECDSA signature over SHA-256(message); malformed DER and high-S are refused. */
export function verifyP256LowS(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  const s = derSignatureS(signature);
  if (s === undefined || s <= 0n || s > P256_HALF_N) return false;
  return verify('sha256', message, { key, dsaEncoding: 'der' }, signature);
}

/** Returns S of a strict DER ECDSA-Sig-Value (SEQUENCE of two short positive INTEGERs), or undefined. */
function derSignatureS(der: Uint8Array): bigint | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const r = readInteger(der, 2);
  if (r === undefined) return undefined;
  const s = readInteger(der, r.end);
  if (s?.end !== der.length) return undefined;
  return s.value;
}

function readInteger(der: Uint8Array, at: number): { value: bigint; end: number } | undefined {
  const length = der[at + 1];
  if (der[at] !== 0x02 || length === undefined || length === 0 || length > 33 || at + 2 + length > der.length)
    return undefined;
  const bytes = der.subarray(at + 2, at + 2 + length);
  const lead = bytes[0] ?? 0;
  if (lead & 0x80) return undefined;
  if (lead === 0 && length > 1 && ((bytes[1] ?? 0) & 0x80) === 0) return undefined;
  return { value: BigInt(`0x${Buffer.from(bytes).toString('hex')}`), end: at + 2 + length };
}
