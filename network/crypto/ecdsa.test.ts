import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeDerSignature, encodeDerSignature, isLowS, signP256, verifyP256 } from './ecdsa.ts';

/** P-256's group order (SEC 2 §2.4.2) and half of it, the largest low S. */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_N = N >> 1n;

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

describe('signP256', () => {
  it('gives low-S signatures OpenSSL verifies, the high-S half of them negated (n − s)', () => {
    let lowS = 0;
    for (let i = 0; i < 200; i++) {
      const message = Buffer.from(`message ${String(i)}`);
      const signature = signP256(privateKey, message);
      const { r, s } = decodeDerSignature(signature);
      expect(s <= HALF_N && s > 0n && r > 0n && r < N).toBe(true);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
      expect(verifyP256(publicKey, message, signature)).toEqual({ ok: true });
      // Its high-S twin (which OpenSSL gives for about half the messages, negated by signP256) is refused.
      expect(verifyP256(publicKey, message, encodeDerSignature({ r, s: N - s })).ok).toBe(false);
      if (isLowS(signature)) lowS++;
    }
    expect(lowS).toBe(200);
  });

  it('signs parts as their concatenation', () => {
    const parts = [Buffer.from('one '), Buffer.from('two')];
    expect(verifyP256(publicKey, Buffer.from('one two'), signP256(privateKey, parts))).toEqual({ ok: true });
  });
});

describe('verifyP256 refuses before the curve check as Fabric does', () => {
  const message = Buffer.from('signed bytes');
  const { r, s } = decodeDerSignature(signP256(privateKey, message));
  const cases: [string, Uint8Array, string][] = [
    ['r = 0', encodeDerSignature({ r: 0n, s }), 'invalid signature: r or s out of range'],
    ['s = 0', encodeDerSignature({ r, s: 0n }), 'invalid signature: r or s out of range'],
    ['r = n', encodeDerSignature({ r: N, s }), 'invalid signature: r or s out of range'],
    ['s = n', encodeDerSignature({ r, s: N }), 'invalid signature: r or s out of range'],
    ['r of 33 bytes', encodeDerSignature({ r: 1n << 256n, s }), 'invalid signature: r or s out of range'],
    ['s = n/2 + 1', encodeDerSignature({ r, s: HALF_N + 1n }), 'Invalid S. Must be smaller than half the order'],
    ['s = n − 1', encodeDerSignature({ r, s: N - 1n }), 'Invalid S. Must be smaller than half the order'],
    ['s = n/2 (low, wrong)', encodeDerSignature({ r, s: HALF_N }), 'signature is not valid'],
    ['r = n − 1 (in range, wrong)', encodeDerSignature({ r: N - 1n, s }), 'signature is not valid'],
    ['s = 1 (in range, wrong)', encodeDerSignature({ r, s: 1n }), 'signature is not valid'],
    [
      'a negative integer',
      Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01),
      'failed unmarshalling signature: negative DER INTEGER',
    ],
    [
      'a non-minimal integer',
      Uint8Array.of(0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01),
      'failed unmarshalling signature: non-minimal DER INTEGER',
    ],
    [
      'bytes after s inside the sequence',
      Uint8Array.of(0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00, 0x00),
      'failed unmarshalling signature: trailing bytes after signature',
    ],
    [
      'bytes after the sequence',
      Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00, 0x00),
      'failed unmarshalling signature: DER length mismatch',
    ],
  ];
  for (const [name, signature, reason] of cases) {
    it(name, () => {
      expect(verifyP256(publicKey, message, signature)).toEqual({ ok: false, reason });
    });
  }
});

describe('encodeDerSignature and decodeDerSignature', () => {
  it('round-trip minimal DER, a sign byte only before a high bit', () => {
    for (const value of [0n, 1n, 0x7fn, 0x80n, 0xffn, 0x100n, HALF_N, N - 1n, 1n << 255n]) {
      const der = encodeDerSignature({ r: value, s: 1n });
      expect(decodeDerSignature(der)).toEqual({ r: value, s: 1n });
      const hex = value.toString(16);
      const bytes = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
      const content = (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Uint8Array.of(0), bytes]) : bytes;
      expect(Buffer.from(der).subarray(2, 4 + content.length)).toEqual(
        Buffer.concat([Uint8Array.of(0x02, content.length), content]),
      );
    }
  });
});
