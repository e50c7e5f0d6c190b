/**
 * Just enough DER to sign a certificate ourselves: RFC 5280 §4.1
 * `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }`.
 */
import { PkiError } from './errors.ts';

const SEQUENCE = 0x30;
const BIT_STRING = 0x03;

interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

/**
 * Returns `certificate` with its signatureValue replaced by `sign(tbsCertificate bytes)` (a DER ECDSA signature).
 * The TBSCertificate bytes are kept exactly as they are, so the signature covers what is stored.
 */
export function replaceSignature(certificate: Uint8Array, sign: (tbs: Uint8Array) => Uint8Array): Uint8Array {
  const outer = readTlv(certificate, 0);
  if (outer.tag !== SEQUENCE || outer.end !== certificate.length) throw bad('not a DER certificate');
  const tbs = readTlv(certificate, outer.contentStart);
  const algorithm = readTlv(certificate, tbs.end);
  const signature = readTlv(certificate, algorithm.end);
  if (
    tbs.tag !== SEQUENCE ||
    algorithm.tag !== SEQUENCE ||
    signature.tag !== BIT_STRING ||
    signature.end !== outer.end
  ) {
    throw bad('unexpected certificate structure');
  }
  const tbsBytes = certificate.subarray(outer.contentStart, tbs.end);
  const algorithmBytes = certificate.subarray(tbs.end, algorithm.end);
  // BIT STRING content: one "unused bits" octet (0), then the DER signature.
  const signatureValue = encode(BIT_STRING, Buffer.concat([Buffer.of(0), sign(tbsBytes)]));
  return encode(SEQUENCE, Buffer.concat([tbsBytes, algorithmBytes, signatureValue]));
}

function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined) throw bad('truncated DER');
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) throw bad('unsupported DER length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[contentStart + i] ?? 0);
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > der.length) throw bad('truncated DER');
  return { tag, contentStart, end };
}

function encode(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : undefined;
  if (!length) throw bad('certificate too large');
  return Buffer.concat([Buffer.of(tag, ...length), content]);
}

function bad(message: string): PkiError {
  return new PkiError('BAD_MATERIAL', message);
}
