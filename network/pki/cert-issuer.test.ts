import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLowS } from '../crypto/index.ts';
import { FABRIC_ATTRS_OID, issueCertificate, subjectKeyId, type IssuedCertificate, type SubjectName } from './index.ts';

const ORG: Omit<SubjectName, 'commonName'> = { organization: 'HefeiCreditMSP', locality: '合肥 Hefei' };

function peculiar(issued: IssuedCertificate): x509.X509Certificate {
  return new x509.X509Certificate(issued.certificate.raw);
}

describe('issueCertificate', () => {
  let ca: IssuedCertificate;
  beforeAll(async () => {
    ca = await issueCertificate({
      subject: { ...ORG, commonName: 'ca.hefei-credit.lianxin.local' },
      profile: { kind: 'ca' },
    });
  });

  it('issues a self-signed P-256 CA with CA:true, keyCertSign and a SHA-256 subject key identifier', () => {
    const cert = ca.certificate;
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const parsed = peculiar(ca);
    expect(parsed.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    const usages = parsed.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
    expect(usages & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    expect(parsed.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: true, critical: true });
    expect(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toBe(subjectKeyId(cert.publicKey));
  });

  it('names the subject CN, OU, O, L, C=CN with the NodeOU and the institution role attribute', async () => {
    const leaf = await issueCertificate({
      subject: { ...ORG, commonName: 'User1' },
      profile: { kind: 'identity', nodeOU: 'client', attrs: { 'lianxin.role': 'agency' } },
      issuer: ca,
    });
    expect(leaf.certificate.subject.split('\n')).toEqual([
      'C=CN',
      'L=合肥 Hefei',
      'O=HefeiCreditMSP',
      'OU=client',
      'CN=User1',
    ]);
    expect(leaf.certificate.issuer).toBe(ca.certificate.subject);
    const attrs = peculiar(leaf).getExtension(FABRIC_ATTRS_OID);
    expect(Buffer.from(attrs?.value ?? new ArrayBuffer(0)).toString()).toBe('{"attrs":{"lianxin.role":"agency"}}');
    expect(leaf.certificate.ca).toBe(false);
  });

  it('links a leaf to its CA by authority key identifier', async () => {
    const leaf = await issueCertificate({
      subject: { ...ORG, commonName: 'Admin' },
      profile: { kind: 'tls-client' },
      issuer: ca,
    });
    const aki = peculiar(leaf).getExtension(x509.AuthorityKeyIdentifierExtension);
    expect(aki?.keyId).toBe(peculiar(ca).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    expect(leaf.certificate.checkIssued(ca.certificate)).toBe(true);
    expect(leaf.certificate.verify(ca.certificate.publicKey)).toBe(true);
  });

  it('signs low-S, as Fabric BCCSP does, so Fabric never rewrites the certificate', async () => {
    for (let i = 0; i < 8; i++) {
      const leaf = await issueCertificate({
        subject: { ...ORG, commonName: `u${i}` },
        profile: { kind: 'tls-client' },
        issuer: ca,
      });
      expect(isLowS(new Uint8Array(peculiar(leaf).signature))).toBe(true);
      expect(leaf.certificate.verify(ca.certificate.publicKey)).toBe(true);
    }
  });

  it('issues TLS server certificates for the host alias, localhost and 127.0.0.1 with serverAuth and clientAuth', async () => {
    const tls = await issueCertificate({
      subject: { ...ORG, commonName: 'node0.hefei-credit.lianxin.local' },
      profile: {
        kind: 'tls-server',
        dnsNames: ['node0.hefei-credit.lianxin.local', 'localhost'],
        ipAddresses: ['127.0.0.1'],
      },
      issuer: ca,
    });
    expect(tls.certificate.checkHost('node0.hefei-credit.lianxin.local')).toBe('node0.hefei-credit.lianxin.local');
    expect(tls.certificate.checkHost('localhost')).toBe('localhost');
    expect(tls.certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(tls.certificate.checkHost('node1.hefei-credit.lianxin.local')).toBeUndefined();
    expect(tls.certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  it('never lets a leaf outlive its CA (review7 S13)', async () => {
    const shortCa = await issueCertificate({
      subject: { ...ORG, commonName: 'ca.short' },
      profile: { kind: 'ca' },
      notAfter: new Date(Date.now() + 30 * 86_400_000),
    });
    const leaf = await issueCertificate({
      subject: { ...ORG, commonName: 'User1' },
      profile: { kind: 'tls-client' },
      issuer: shortCa,
    });
    expect(leaf.certificate.validTo).toBe(shortCa.certificate.validTo);
    const underLongCa = await issueCertificate({
      subject: { ...ORG, commonName: 'User1' },
      profile: { kind: 'tls-client' },
      issuer: ca,
    });
    expect(Date.parse(underLongCa.certificate.validTo)).toBeLessThan(Date.parse(ca.certificate.validTo));
  });

  it('issues an expired certificate when asked, for tests of validity checks', async () => {
    const expired = await issueCertificate({
      subject: { ...ORG, commonName: 'Expired' },
      profile: { kind: 'identity', nodeOU: 'client', attrs: {} },
      issuer: ca,
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2021-01-01T00:00:00Z'),
    });
    expect(new Date(expired.certificate.validTo).getTime()).toBeLessThan(Date.now());
    expect(expired.certificate.verify(ca.certificate.publicKey)).toBe(true);
  });

  it('issues from a CA the consortium does not know: the chain to the real CA fails', async () => {
    const stranger = await issueCertificate({
      subject: { ...ORG, commonName: 'ca.evil.local' },
      profile: { kind: 'ca' },
    });
    const leaf = await issueCertificate({
      subject: { ...ORG, commonName: 'Admin' },
      profile: { kind: 'identity', nodeOU: 'admin', attrs: {} },
      issuer: stranger,
    });
    expect(leaf.certificate.verify(stranger.certificate.publicKey)).toBe(true);
    expect(leaf.certificate.verify(ca.certificate.publicKey)).toBe(false);
  });

  it('keeps a key it is given and refuses keys outside the Fabric 2.5 suite', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const issued = await issueCertificate({
      subject: { ...ORG, commonName: 'k' },
      profile: { kind: 'tls-client' },
      issuer: ca,
      privateKey,
    });
    expect(issued.certificate.checkPrivateKey(privateKey)).toBe(true);
    expect(issued.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    await expect(
      issueCertificate({
        subject: { ...ORG, commonName: 'k' },
        profile: { kind: 'tls-client' },
        issuer: ca,
        privateKey: p384,
      }),
    ).rejects.toMatchObject({ code: 'BAD_MATERIAL' });
  });
});
