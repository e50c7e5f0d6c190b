import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, X509Certificate, webcrypto } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate, TrustedCas, type CertificateAuthority, type IssuedCertificate } from './index.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date();
const subject = (commonName: string) => ({ commonName, organization: 'HefeiCreditMSP', locality: 'Hefei' });

async function leafOf(issuer: CertificateAuthority, window?: { notBefore: Date; notAfter: Date }) {
  return issueCertificate({ subject: subject('User1'), profile: { kind: 'tls-client' }, issuer, ...window });
}

/** A self-signed certificate with the given constraints, which network/pki never issues for a CA. */
async function selfSigned(isCa: boolean, usages: x509.KeyUsageFlags): Promise<CertificateAuthority> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'C=CN, L=Hefei, O=HefeiCreditMSP, CN=tlsca.constrained',
    keys,
    signingAlgorithm: algorithm,
    notBefore: new Date(NOW.getTime() - DAY),
    notAfter: new Date(NOW.getTime() + 365 * DAY),
    extensions: [new x509.BasicConstraintsExtension(isCa, undefined, true), new x509.KeyUsagesExtension(usages, true)],
  });
  return {
    certificate: new X509Certificate(Buffer.from(certificate.rawData)),
    privateKey: KeyObject.from(keys.privateKey),
  };
}

describe('TrustedCas', () => {
  let ca: IssuedCertificate;
  let leaf: IssuedCertificate;
  beforeAll(async () => {
    ca = await issueCertificate({ subject: subject('tlsca.hefei'), profile: { kind: 'ca' } });
    leaf = await leafOf(ca);
  });

  it('accepts a certificate issued by a trusted CA, both within their validity periods', () => {
    const check = new TrustedCas([ca.certificate]).verify(leaf.certificate, NOW);
    expect(check).toMatchObject({ ok: true, value: { certificate: ca.certificate, mayIssue: true } });
  });

  it('finds the issuer among several CAs', async () => {
    const other = await issueCertificate({ subject: subject('tlsca.other'), profile: { kind: 'ca' } });
    const check = new TrustedCas([other.certificate, ca.certificate]).verify(leaf.certificate, NOW);
    expect(check).toMatchObject({ ok: true, value: { certificate: ca.certificate } });
  });

  it('refuses a certificate from a CA with the same name but another key, in Go crypto/x509 words', async () => {
    const impostor = await issueCertificate({ subject: subject('tlsca.hefei'), profile: { kind: 'ca' } });
    expect(new TrustedCas([impostor.certificate]).verify(leaf.certificate, NOW)).toEqual({
      ok: false,
      code: 'UNKNOWN_AUTHORITY',
      reason: 'x509: certificate signed by unknown authority',
    });
  });

  it('refuses a certificate from a CA that has expired, though the certificate itself is still valid', async () => {
    const expiredCa = await issueCertificate({
      subject: subject('tlsca.expired'),
      profile: { kind: 'ca' },
      notBefore: new Date(NOW.getTime() - 30 * DAY),
      notAfter: new Date(NOW.getTime() - DAY),
    });
    const current = await leafOf(expiredCa, {
      notBefore: new Date(NOW.getTime() - 10 * DAY),
      notAfter: new Date(NOW.getTime() + 10 * DAY),
    });
    const check = new TrustedCas([expiredCa.certificate]).verify(current.certificate, NOW);
    expect(check).toMatchObject({ ok: false, code: 'ISSUER_NOT_VALID' });
    expect(check.ok ? '' : check.reason).toMatch(/^x509: certificate has expired or is not yet valid: .* is after /);
  });

  it('checks the CA’s validity at the time asked: after the CA expires, before it starts', () => {
    const cas = new TrustedCas([ca.certificate]);
    const issuer = cas.issuerOf(leaf.certificate);
    if (!issuer.ok) throw new Error(issuer.reason);
    const caEnd = ca.certificate.validToDate.getTime();
    const caStart = ca.certificate.validFromDate.getTime();
    expect(cas.checkValidity(leaf.certificate, issuer.value, new Date(caEnd + 1000))).toMatchObject({
      ok: false,
      code: 'ISSUER_NOT_VALID',
    });
    expect(cas.checkValidity(leaf.certificate, issuer.value, new Date(caStart - 1000))).toMatchObject({
      ok: false,
      code: 'ISSUER_NOT_VALID',
    });
  });

  it('refuses an expired certificate from a valid CA', async () => {
    const old = await leafOf(ca, {
      notBefore: new Date(NOW.getTime() - 10 * DAY),
      notAfter: new Date(NOW.getTime() - DAY),
    });
    expect(new TrustedCas([ca.certificate]).verify(old.certificate, NOW)).toMatchObject({
      ok: false,
      code: 'NOT_VALID',
    });
  });

  it('refuses a certificate signed by a trusted certificate that is not a CA (basicConstraints cA=FALSE)', async () => {
    const { keyCertSign, digitalSignature } = x509.KeyUsageFlags;
    const notCa = await selfSigned(false, keyCertSign | digitalSignature);
    expect(notCa.certificate.ca).toBe(false);
    const issued = await leafOf(notCa);
    const check = new TrustedCas([notCa.certificate]).verify(issued.certificate, NOW);
    expect(check).toMatchObject({ ok: false, code: 'ISSUER_NOT_A_CA' });
    expect(check.ok ? '' : check.reason).toContain('parent certificate cannot sign this kind of certificate');
  });

  it('refuses a certificate from a CA whose keyUsage lacks keyCertSign', async () => {
    const limited = await selfSigned(true, x509.KeyUsageFlags.digitalSignature);
    const constraints = new x509.X509Certificate(limited.certificate.raw).getExtension(x509.BasicConstraintsExtension);
    expect(constraints?.ca).toBe(true);
    const issued = await leafOf(limited);
    expect(new TrustedCas([limited.certificate]).verify(issued.certificate, NOW)).toMatchObject({
      ok: false,
      code: 'ISSUER_NOT_A_CA',
    });
  });

  it('refuses a certificate signed by a member’s leaf (a TLS client certificate used as a CA)', async () => {
    const notCa = await leafOf(ca);
    const signedByLeaf = await leafOf(notCa);
    expect(new TrustedCas([ca.certificate, notCa.certificate]).verify(signedByLeaf.certificate, NOW)).toMatchObject({
      ok: false,
      code: 'ISSUER_NOT_A_CA',
    });
  });
});
