import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signP256 } from '../../network/crypto/index.ts';
import { issueCertificate } from '../../network/pki/index.ts';
import { certificateIsCa, pemCertificateDer, readEcdsaSignature, readP256SpkiPoint } from './der.ts';

const SUBJECT = { organization: 'HangzhouAgencyMSP', locality: 'Hangzhou' };

describe('certificateIsCa (the browser has no X.509 parser)', () => {
  it('agrees with node:crypto X509Certificate.ca on CA, identity and TLS certificates', async () => {
    const ca = await issueCertificate({ subject: { ...SUBJECT, commonName: 'ca' }, profile: { kind: 'ca' } });
    const issued = await Promise.all([
      issueCertificate({
        subject: { ...SUBJECT, commonName: 'User1' },
        profile: { kind: 'identity', nodeOU: 'client', attrs: {} },
        issuer: ca,
      }),
      issueCertificate({ subject: { ...SUBJECT, commonName: 'tls' }, profile: { kind: 'tls-client' }, issuer: ca }),
    ]);
    const verdicts = [ca, ...issued].map(({ certificate }) => {
      const der = pemCertificateDer(certificate.toString());
      expect(der).toBeDefined();
      return [certificateIsCa(der ?? new Uint8Array()), new X509Certificate(certificate.toString()).ca];
    });
    expect(verdicts).toEqual([
      [true, true],
      [false, false],
      [false, false],
    ]);
  });

  it('gives no answer for bytes that are not a certificate', () => {
    expect(certificateIsCa(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00))).toBeUndefined();
    expect(certificateIsCa(Uint8Array.of(0x30, 0x81, 0x05, 0, 0, 0, 0, 0))).toBeUndefined(); // non-minimal length
  });
});

describe('readP256SpkiPoint', () => {
  it('takes the point out of a P-256 SPKI and refuses other curves and trailing bytes', () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'der' });
    expect(Uint8Array.from(readP256SpkiPoint(p256) ?? [])).toEqual(Uint8Array.from(p256.subarray(p256.length - 65)));
    expect(readP256SpkiPoint(p384)).toBeUndefined();
    expect(readP256SpkiPoint(Buffer.concat([p256, Buffer.of(0)]))).toBeUndefined();
  });
});

describe('readEcdsaSignature', () => {
  it('accepts the low-S signatures signP256 makes and refuses the high-S twin', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = signP256(privateKey, Buffer.from('message'));
    const read = readEcdsaSignature(der);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const highS = (n - read.signature.s).toString(16).padStart(64, '0');
    const r = read.signature.r.toString(16).padStart(64, '0');
    const int = (hex: string) => {
      const bytes = Buffer.from(hex, 'hex');
      let start = 0;
      while (start < bytes.length - 1 && bytes[start] === 0 && ((bytes[start + 1] ?? 0) & 0x80) === 0) start++;
      const body = bytes.subarray(start);
      return (body[0] ?? 0) & 0x80
        ? Buffer.concat([Buffer.of(0x02, body.length + 1, 0), body])
        : Buffer.concat([Buffer.of(0x02, body.length), body]);
    };
    const ints = Buffer.concat([int(r), int(highS)]);
    expect(readEcdsaSignature(Buffer.concat([Buffer.of(0x30, ints.length), ints]))).toEqual({
      ok: false,
      reason: 'Invalid S. Must be smaller than half the order',
    });
  });
});
