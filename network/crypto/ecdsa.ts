/**
 * ECDSA P-256 with SHA-256, DER signatures, low-S: the only suite Fabric 2.5 accepts
 * (`bccsp/sw/ecdsa.go`: "Invalid S. Must be smaller than half the order").
 * OpenSSL (node:crypto) does the curve work: ~20x the rate of pure-JS curves here (DESIGN §9).
 * About half of OpenSSL's signatures are high-S, so `signP256` normalises them.
 */
import { createPublicKey, createSign, sign, verify, type KeyObject } from 'node:crypto';
import { CryptoError } from './errors.ts';

/** Order of the P-256 group (SEC 2 §2.4.2). */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;
/**
 * The same as 32 big-endian bytes: every sign and verify checks r and s against them byte-wise, without BigInt
 * (a hex string and a BigInt per integer cost ≈ 0.5 µs per signature, three verifies and a sign per transaction).
 */
const P256_N_BYTES = Buffer.from(P256_N.toString(16), 'hex');
const P256_HALF_N_BYTES = Buffer.from(P256_HALF_N.toString(16).padStart(64, '0'), 'hex');

export interface EcdsaSignature {
  readonly r: bigint;
  readonly s: bigint;
}

/**
 * Signs SHA-256(data) and returns a low-S DER signature. `data` given as parts is signed as their concatenation,
 * hashed part by part: a large message is not copied into one buffer first.
 */
export function signP256(privateKey: KeyObject, data: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const der = ArrayBuffer.isView(data)
    ? sign('sha256', data, { key: privateKey, dsaEncoding: 'der' })
    : data
        .reduce((signer, part) => signer.update(part), createSign('sha256'))
        .sign({ key: privateKey, dsaEncoding: 'der' });
  const { r, s } = readDerSignature(der);
  return compareToOrder(s, P256_HALF_N_BYTES) > 0 ? derSignature(r, negateModOrder(s)) : der;
}

export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Verifies a DER ECDSA signature over SHA-256(data) as Fabric 2.5 does: malformed DER and high-S are refused
 * before the curve check. `signature` is attacker-controlled.
 */
export function verifyP256(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): VerifyResult {
  const refused = refuseMalformed(signature);
  if (refused) return refused;
  const ok = verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature);
  return ok ? VALID : NOT_VALID;
}

/**
 * {@link verifyP256} with the curve check on libuv's thread pool (node:crypto's callback form): the same CPU,
 * but not on the event loop, so a server verifies while it serves other calls.
 */
export function verifyP256Async(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): Promise<VerifyResult> {
  const refused = refuseMalformed(signature);
  if (refused) return Promise.resolve(refused);
  return new Promise((resolve) => {
    verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature, (err, ok) => {
      resolve(err === null && ok ? VALID : NOT_VALID);
    });
  });
}

const VALID: VerifyResult = { ok: true };
const NOT_VALID: VerifyResult = { ok: false, reason: 'signature is not valid' };

/** Malformed DER and high-S are refused before any curve work (`bccsp/sw/ecdsa.go`). */
function refuseMalformed(signature: Uint8Array): VerifyResult | undefined {
  let sig: DerSignature;
  try {
    sig = readDerSignature(signature);
  } catch (err) {
    return { ok: false, reason: `failed unmarshalling signature: ${(err as Error).message}` };
  }
  const { r, s } = sig;
  if (isZero(r) || isZero(s) || compareToOrder(r, P256_N_BYTES) >= 0 || compareToOrder(s, P256_N_BYTES) >= 0) {
    return { ok: false, reason: 'invalid signature: r or s out of range' };
  }
  if (compareToOrder(s, P256_HALF_N_BYTES) > 0) {
    return { ok: false, reason: 'Invalid S. Must be smaller than half the order' };
  }
  return undefined;
}

export function isLowS(signature: Uint8Array): boolean {
  return compareToOrder(readDerSignature(signature).s, P256_HALF_N_BYTES) <= 0;
}

/** Public key of a P-256 private key, or from a PEM/DER certificate or SPKI. */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

/** Strict DER: SEQUENCE { INTEGER r, INTEGER s } with minimal, positive integers and no trailing bytes. */
export function decodeDerSignature(der: Uint8Array): EcdsaSignature {
  const { r, s } = readDerSignature(der);
  return { r: BigInt('0x' + r.toString('hex')), s: BigInt('0x' + s.toString('hex')) };
}

/** A DER signature's integers as big-endian magnitudes: views of its bytes, a DER sign byte dropped. */
interface DerSignature {
  readonly r: Buffer;
  readonly s: Buffer;
}

/** {@link decodeDerSignature}'s checks, the integers left as bytes. */
function readDerSignature(der: Uint8Array): DerSignature {
  if (der.length < 8 || der.length > 72 || der[0] !== 0x30)
    throw new CryptoError('BAD_SIGNATURE', 'not a DER sequence');
  if (der[1] !== der.length - 2) throw new CryptoError('BAD_SIGNATURE', 'DER length mismatch');
  const [r, afterR] = readDerInteger(der, 2);
  const [s, afterS] = readDerInteger(der, afterR);
  if (afterS !== der.length) throw new CryptoError('BAD_SIGNATURE', 'trailing bytes after signature');
  return { r, s };
}

/** A minimal magnitude (no leading zero byte but zero's own) against one of 32 bytes. */
function compareToOrder(magnitude: Buffer, order: Buffer): number {
  return magnitude.length === order.length ? magnitude.compare(order) : magnitude.length - order.length;
}

function isZero(magnitude: Buffer): boolean {
  return magnitude.length === 1 && magnitude[0] === 0;
}

/** n − s as 32 bytes, for 0 < s < n. */
function negateModOrder(s: Buffer): Buffer {
  const out = Buffer.allocUnsafe(32);
  let borrow = 0;
  for (let i = 31, j = s.length - 1; i >= 0; i--, j--) {
    const d = (P256_N_BYTES[i] ?? 0) - (j >= 0 ? (s[j] ?? 0) : 0) - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = d + (borrow << 8);
  }
  return out;
}

/** SEQUENCE { INTEGER r, INTEGER s } from big-endian magnitudes (leading zeros dropped, a sign byte added). */
function derSignature(r: Buffer, s: Buffer): Uint8Array {
  const ri = derIntegerBytes(r);
  const si = derIntegerBytes(s);
  return Buffer.concat([
    Uint8Array.of(0x30, 4 + ri.length + si.length, 0x02, ri.length),
    ri,
    Uint8Array.of(0x02, si.length),
    si,
  ]);
}

function derIntegerBytes(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const minimal = magnitude.subarray(start);
  return (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Uint8Array.of(0), minimal]) : minimal;
}

export function encodeDerSignature({ r, s }: EcdsaSignature): Uint8Array {
  return derSignature(bigEndian(r), bigEndian(s));
}

function bigEndian(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
}

function readDerInteger(der: Uint8Array, offset: number): [Buffer, number] {
  if (der[offset] !== 0x02) throw new CryptoError('BAD_SIGNATURE', 'expected DER INTEGER');
  const len = der[offset + 1] ?? 0;
  const start = offset + 2;
  const end = start + len;
  if (len === 0 || len > 33 || end > der.length) throw new CryptoError('BAD_SIGNATURE', 'bad DER INTEGER length');
  const first = der[start] ?? 0;
  if (first & 0x80) throw new CryptoError('BAD_SIGNATURE', 'negative DER INTEGER');
  if (first === 0 && len > 1 && ((der[start + 1] ?? 0) & 0x80) === 0) {
    throw new CryptoError('BAD_SIGNATURE', 'non-minimal DER INTEGER');
  }
  // A view, not a copy: three verifies and a sign per transaction read these. A sign byte (0x00) is dropped.
  const signByte = first === 0 && len > 1 ? 1 : 0;
  return [Buffer.from(der.buffer, der.byteOffset + start + signByte, len - signByte), end];
}
