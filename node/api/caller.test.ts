import type { PeerCertificate } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate, type IssuedCertificate } from '../../network/pki/index.ts';
import { CallerAuthenticator, consortiumRoles, parseClientCaBundle } from './index.ts';

const subject = (organization: string, commonName: string) => ({ commonName, organization, locality: 'Hefei' });

/** What grpc-js hands over from `tls.TLSSocket.getPeerCertificate()`: the fields the authenticator reads. */
function peer(cert: IssuedCertificate): PeerCertificate {
  return { raw: cert.certificate.raw, fingerprint256: cert.certificate.fingerprint256 } as PeerCertificate;
}

describe('CallerAuthenticator', () => {
  let ca: IssuedCertificate;
  let leaf: IssuedCertificate;
  const roles = consortiumRoles({
    organizations: [{ mspId: 'HefeiCreditMSP', role: 'agency' }] as never,
  });

  beforeAll(async () => {
    ca = await issueCertificate({ subject: subject('HefeiCreditMSP', 'tlsca.hefei'), profile: { kind: 'ca' } });
    leaf = await issueCertificate({
      subject: subject('HefeiCreditMSP', 'User1'),
      profile: { kind: 'tls-client' },
      issuer: ca,
    });
  });

  const authenticator = (options: { now?: () => Date; members?: typeof roles } = {}) =>
    new CallerAuthenticator({
      clientCas: parseClientCaBundle(ca.certificatePem),
      resolveRole: options.members ?? roles,
      ...(options.now ? { now: options.now } : {}),
    });

  it('names the caller by O, CN and the registered role', async () => {
    await expect(authenticator().authenticate(peer(leaf))).resolves.toEqual({
      mspId: 'HefeiCreditMSP',
      role: 'agency',
      commonName: 'User1',
      fingerprint: leaf.certificate.fingerprint256,
    });
  });

  it('answers the same for a certificate it has already verified', async () => {
    const auth = authenticator();
    const first = await auth.authenticate(peer(leaf));
    await expect(auth.authenticate(peer(leaf))).resolves.toEqual(first);
  });

  it('rejects a connection without a certificate as UNAUTHENTICATED', async () => {
    await expect(authenticator().authenticate(undefined)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(authenticator().authenticate({} as PeerCertificate)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('rejects an expired certificate and one not yet valid, even once cached', async () => {
    const auth = (at: number) => authenticator({ now: () => new Date(at) });
    const validTo = Date.parse(leaf.certificate.validTo);
    const validFrom = Date.parse(leaf.certificate.validFrom);
    await expect(auth(validTo + 1000).authenticate(peer(leaf))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(auth(validFrom - 1000).authenticate(peer(leaf))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('rejects a certificate from a member CA that has expired, though the certificate is still valid', async () => {
    const day = 24 * 60 * 60 * 1000;
    const expiredCa = await issueCertificate({
      subject: subject('HefeiCreditMSP', 'tlsca.hefei'),
      profile: { kind: 'ca' },
      notBefore: new Date(Date.now() - 30 * day),
      notAfter: new Date(Date.now() - day),
    });
    const current = await issueCertificate({
      subject: subject('HefeiCreditMSP', 'User1'),
      profile: { kind: 'tls-client' },
      issuer: expiredCa,
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() + 10 * day),
    });
    const auth = new CallerAuthenticator({
      clientCas: parseClientCaBundle(expiredCa.certificatePem),
      resolveRole: roles,
    });
    const rejected = auth.authenticate(peer(current));
    await expect(rejected).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(rejected).rejects.toThrow('the TLS CA of HefeiCreditMSP that issued it is expired');
  });

  it('rejects a certificate once its CA expires, even after accepting it while the CA was valid', async () => {
    const day = 24 * 60 * 60 * 1000;
    const shortCa = await issueCertificate({
      subject: subject('HefeiCreditMSP', 'tlsca.hefei'),
      profile: { kind: 'ca' },
      notAfter: new Date(Date.now() + day),
    });
    // A leaf that outlives its CA: only the CA's end can refuse it.
    const longLeaf = await issueCertificate({
      subject: subject('HefeiCreditMSP', 'User1'),
      profile: { kind: 'tls-client' },
      issuer: shortCa,
      notAfter: new Date(Date.now() + 10 * day),
    });
    let now = new Date();
    const auth = new CallerAuthenticator({
      clientCas: parseClientCaBundle(shortCa.certificatePem),
      resolveRole: roles,
      now: () => now,
    });
    await expect(auth.authenticate(peer(longLeaf))).resolves.toMatchObject({ mspId: 'HefeiCreditMSP' });
    now = new Date(Date.now() + 2 * day);
    await expect(auth.authenticate(peer(longLeaf))).rejects.toThrow('the TLS CA of HefeiCreditMSP that issued it');
  });

  it('rejects a certificate signed by a member certificate that is not a CA', async () => {
    const memberLeafAsCa = await issueCertificate({
      subject: subject('HefeiCreditMSP', 'tlsca.hefei'),
      profile: { kind: 'tls-client' },
      issuer: ca,
    });
    const issued = await issueCertificate({
      subject: subject('HefeiCreditMSP', 'User2'),
      profile: { kind: 'tls-client' },
      issuer: memberLeafAsCa,
    });
    const bundle = new Map([['HefeiCreditMSP', [ca.certificate, memberLeafAsCa.certificate]]]);
    const auth = new CallerAuthenticator({ clientCas: bundle, resolveRole: roles });
    const rejected = auth.authenticate(peer(issued));
    await expect(rejected).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(rejected).rejects.toThrow('that may issue certificates (CA:TRUE, keyCertSign)');
  });

  it('rejects a certificate without an O', async () => {
    const noOrg = await issueCertificate({
      subject: subject('', 'User1'),
      profile: { kind: 'tls-client' },
      issuer: ca,
    });
    const rejected = authenticator().authenticate(peer(noOrg));
    await expect(rejected).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(rejected).rejects.toThrow('its subject has no O');
  });

  it('refuses an organisation whose CA is trusted but which is not a registered member', async () => {
    await expect(authenticator({ members: () => undefined }).authenticate(peer(leaf))).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
  });

  it('resolves roles asynchronously, as a registry lookup does', async () => {
    const caller = await authenticator({ members: () => Promise.resolve('bank' as const) }).authenticate(peer(leaf));
    expect(caller.role).toBe('bank');
  });
});

describe('parseClientCaBundle', () => {
  it('groups the CAs of a concatenated bundle by the MSP ID in their O', async () => {
    const a = await issueCertificate({ subject: subject('AMSP', 'tlsca.a'), profile: { kind: 'ca' } });
    const a2 = await issueCertificate({ subject: subject('AMSP', 'tlsca2.a'), profile: { kind: 'ca' } });
    const b = await issueCertificate({ subject: subject('BMSP', 'tlsca.b'), profile: { kind: 'ca' } });
    const bundle = parseClientCaBundle(a.certificatePem + a2.certificatePem + '\n' + b.certificatePem);
    expect([...bundle.keys()]).toEqual(['AMSP', 'BMSP']);
    expect(bundle.get('AMSP')?.map((c) => c.fingerprint256)).toEqual([
      a.certificate.fingerprint256,
      a2.certificate.fingerprint256,
    ]);
  });

  it('rejects a bundle without certificates and one holding a leaf', async () => {
    expect(() => parseClientCaBundle('not a pem')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'tls.clientCaBundle' }),
    );
    const ca = await issueCertificate({ subject: subject('AMSP', 'tlsca.a'), profile: { kind: 'ca' } });
    const leaf = await issueCertificate({ subject: subject('AMSP', 'x'), profile: { kind: 'tls-client' }, issuer: ca });
    expect(() => parseClientCaBundle(leaf.certificatePem)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'tls.clientCaBundle' }),
    );
  });
});
