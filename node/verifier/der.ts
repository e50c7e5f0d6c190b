/**
 * The few DER structures the verifier reads, walked strictly (X.690 §10: definite, minimal lengths) and in one
 * place for both crypto backends, so that what they are handed is identical: ECDSA-Sig-Value (RFC 3279 §2.2.3),
 * a P-256 SubjectPublicKeyInfo (RFC 5480 §2), and an X.509 certificate's basicConstraints cA flag (RFC 5280
 * §4.2.1.9), all attacker-controlled bytes. Pure: no `node:` imports.
 */
import { decodeBase64Strict, equalBytes } from '../../chaincode/src/protocol-portable.ts';

/** Order of the P-256 group (SEC 2 §2.4.2). */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

interface Tlv {
  readonly tag: number;
  /** First byte of the content. */
  readonly start: number;
  /** One past the content's last byte. */
  readonly end: number;
}

/** One DER TLV at `at`, its content within `limit`; undefined when malformed. Tags are single-byte (all we read). */
function readTlv(der: Uint8Array, at: number, limit = der.length): Tlv | undefined {
  const tag = der[at];
  const first = der[at + 1];
  if (tag === undefined || first === undefined || (tag & 0x1f) === 0x1f) return undefined;
  let length = first;
  let start = at + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 3) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] ?? -1e9);
    start += count;
    // Minimal length encoding: long form only from 128, no leading zero byte.
    if (length < 0x80 || der[at + 2] === 0) return undefined;
  }
  const end = start + length;
  return length < 0 || end > limit ? undefined : { tag, start, end };
}

export interface DerSignature {
  readonly r: bigint;
  readonly s: bigint;
  /** The DER bytes as given. */
  readonly der: Uint8Array;
  /** r ‖ s, 32 bytes each. */
  readonly compact: Uint8Array;
}

export type SignatureCheck =
  { readonly ok: true; readonly signature: DerSignature } | { readonly ok: false; readonly reason: string };

/**
 * Reads a signature as Fabric 2.5 accepts it: strict DER SEQUENCE of two minimal positive INTEGERs, no trailing
 * bytes, 0 < r, s < n and s ≤ n/2 (low-S). Reasons are those of network/crypto verifyP256.
 */
export function readEcdsaSignature(der: Uint8Array): SignatureCheck {
  const seq = der.length <= 72 ? readTlv(der, 0) : undefined;
  if (seq?.tag !== 0x30 || seq.end !== der.length)
    return { ok: false, reason: 'failed unmarshalling signature: not a DER sequence' };
  const r = readPositiveInteger(der, seq.start, seq.end);
  const s = r === undefined ? undefined : readPositiveInteger(der, r.end, seq.end);
  if (r === undefined || s === undefined)
    return { ok: false, reason: 'failed unmarshalling signature: bad DER INTEGER' };
  if (s.end !== seq.end) return { ok: false, reason: 'failed unmarshalling signature: trailing bytes after signature' };
  if (r.value <= 0n || s.value <= 0n || r.value >= P256_N || s.value >= P256_N) {
    return { ok: false, reason: 'invalid signature: r or s out of range' };
  }
  if (s.value > P256_HALF_N) return { ok: false, reason: 'Invalid S. Must be smaller than half the order' };
  const compact = new Uint8Array(64);
  compact.set(bigintBytes32(r.value), 0);
  compact.set(bigintBytes32(s.value), 32);
  return { ok: true, signature: { r: r.value, s: s.value, der, compact } };
}

function readPositiveInteger(der: Uint8Array, at: number, limit: number): { value: bigint; end: number } | undefined {
  const tlv = readTlv(der, at, limit);
  const length = tlv === undefined ? 0 : tlv.end - tlv.start;
  if (tlv?.tag !== 0x02 || length === 0 || length > 33) return undefined;
  const lead = der[tlv.start] ?? 0;
  if (lead & 0x80) return undefined;
  if (lead === 0 && length > 1 && ((der[tlv.start + 1] ?? 0) & 0x80) === 0) return undefined;
  let value = 0n;
  for (let i = tlv.start; i < tlv.end; i++) value = (value << 8n) | BigInt(der[i] ?? 0);
  return { value, end: tlv.end };
}

function bigintBytes32(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** AlgorithmIdentifier { id-ecPublicKey (1.2.840.10045.2.1), prime256v1 (1.2.840.10045.3.1.7) } (RFC 5480 §2.1.1). */
const P256_ALGORITHM = Uint8Array.of(
  0x30,
  0x13,
  0x06,
  0x07,
  0x2a,
  0x86,
  0x48,
  0xce,
  0x3d,
  0x02,
  0x01,
  0x06,
  0x08,
  0x2a,
  0x86,
  0x48,
  0xce,
  0x3d,
  0x03,
  0x01,
  0x07,
);

/** The SEC 1 point of a P-256 SPKI (uncompressed or compressed), or undefined; on-curve is the backend's check. */
export function readP256SpkiPoint(spki: Uint8Array): Uint8Array | undefined {
  const seq = readTlv(spki, 0);
  if (seq?.tag !== 0x30 || seq.end !== spki.length) return undefined;
  const algorithm = readTlv(spki, seq.start, seq.end);
  if (algorithm?.tag !== 0x30 || !equalBytes(spki.subarray(seq.start, algorithm.end), P256_ALGORITHM)) return undefined;
  const key = readTlv(spki, algorithm.end, seq.end);
  if (key?.tag !== 0x03 || key.end !== seq.end || spki[key.start] !== 0) return undefined;
  const point = spki.subarray(key.start + 1, key.end);
  const form = point[0];
  const fits = (form === 0x04 && point.length === 65) || ((form === 0x02 || form === 0x03) && point.length === 33);
  return fits ? point : undefined;
}

const BASIC_CONSTRAINTS = Uint8Array.of(0x55, 0x1d, 0x13);

/**
 * Whether a DER X.509 certificate's basicConstraints says cA (what node:crypto `X509Certificate.ca` reports);
 * undefined when the certificate's outer structure cannot be walked.
 */
export function certificateIsCa(der: Uint8Array): boolean | undefined {
  const certificate = readTlv(der, 0);
  if (certificate?.tag !== 0x30 || certificate.end !== der.length) return undefined;
  const tbs = readTlv(der, certificate.start, certificate.end);
  if (tbs?.tag !== 0x30) return undefined;
  for (let at = tbs.start; at < tbs.end;) {
    const field = readTlv(der, at, tbs.end);
    if (field === undefined) return undefined;
    at = field.end;
    if (field.tag !== 0xa3) continue; // [3] EXPLICIT Extensions
    const extensions = readTlv(der, field.start, field.end);
    if (extensions?.tag !== 0x30) return undefined;
    for (let e = extensions.start; e < extensions.end;) {
      const extension = readTlv(der, e, extensions.end);
      const oid = extension === undefined ? undefined : readTlv(der, extension.start, extension.end);
      if (extension === undefined || oid?.tag !== 0x06) return undefined;
      e = extension.end;
      if (!equalBytes(der.subarray(oid.start, oid.end), BASIC_CONSTRAINTS)) continue;
      let next = readTlv(der, oid.end, extension.end);
      if (next?.tag === 0x01) next = readTlv(der, next.end, extension.end); // critical
      if (next?.tag !== 0x04) return undefined;
      const constraints = readTlv(der, next.start, next.end);
      if (constraints?.tag !== 0x30) return undefined;
      const ca = constraints.start < constraints.end ? readTlv(der, constraints.start, constraints.end) : undefined;
      return ca?.tag === 0x01 && ca.end - ca.start === 1 && der[ca.start] !== 0;
    }
    return false;
  }
  return false;
}

const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END CERTIFICATE-----\r?\n?$/;

/** The DER of one PEM certificate, or undefined. */
export function pemCertificateDer(pem: string): Uint8Array | undefined {
  const body = PEM_CERTIFICATE.exec(pem)?.[1];
  return body === undefined ? undefined : decodeBase64Strict(body.replace(/\r?\n/g, ''));
}
