/**
 * X.509 issuance for the consortium PKI (DESIGN §3): ECDSA P-256 with SHA-256 throughout, the profiles Fabric's
 * cryptogen issues (`internal/cryptogen/ca/ca.go`), Fabric NodeOUs in the subject and the institution's role as a
 * Fabric-CA attribute. @peculiar/x509 lays out the TBSCertificate; the signature comes from the project's
 * `signP256`, so every certificate is low-S like one issued through Fabric's BCCSP (`bccsp/sw/ecdsa.go`) and
 * Fabric's MSP never has to rewrite it (`msp/mspimpl.go` sanitizeCert).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  X509Certificate,
  generateKeyPairSync,
  createPublicKey,
  randomBytes,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { sha256, signP256 } from '../crypto/index.ts';
import { BACKDATE_MS, CA_VALIDITY_DAYS, COUNTRY, FABRIC_ATTRS_OID, LEAF_VALIDITY_DAYS } from './constants.ts';
import type { NodeOU } from './consortium-config.ts';
import { PkiError } from './errors.ts';
import { replaceSignature } from './der-certificate.ts';

// @peculiar/x509 computes anything it needs (digests, random serials) through a WebCrypto provider: node's.
x509.cryptoProvider.set(webcrypto);

const DAY_MS = 24 * 60 * 60 * 1000;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };

/** Subject of a certificate; rendered `CN=…, OU=…, O=…, L=…, C=CN` (DER order C, L, O, OU, CN as cryptogen). */
export interface SubjectName {
  readonly commonName: string;
  /** The MSP ID for every certificate of an organisation. */
  readonly organization: string;
  readonly locality: string;
}

export type CertificateProfile =
  /** A self-signed root: CA:true, keyCertSign. */
  | { readonly kind: 'ca' }
  /** An MSP signing identity with exactly one NodeOU and Fabric-CA attributes. */
  | { readonly kind: 'identity'; readonly nodeOU: NodeOU; readonly attrs: Readonly<Record<string, string>> }
  /** A TLS server (and, as in cryptogen, client) certificate for the given names. */
  | { readonly kind: 'tls-server'; readonly dnsNames: readonly string[]; readonly ipAddresses: readonly string[] }
  | { readonly kind: 'tls-client' };

/** A CA able to sign: its certificate and private key. */
export interface CertificateAuthority {
  readonly certificate: X509Certificate;
  readonly privateKey: KeyObject;
}

export interface IssueCertificateOptions {
  readonly subject: SubjectName;
  readonly profile: CertificateProfile;
  /** Omitted: the certificate is self-signed by its own key (profile `ca`, or a stranger's CA in tests). */
  readonly issuer?: CertificateAuthority;
  /** Omitted: a fresh P-256 key. */
  readonly privateKey?: KeyObject;
  /** Default: five minutes before now. */
  readonly notBefore?: Date;
  /** Default: 10 years after notBefore for a CA, 2 years for a leaf, at most the issuer's notAfter. */
  readonly notAfter?: Date;
}

export interface IssuedCertificate {
  readonly certificate: X509Certificate;
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
  /** PKCS#8 PEM, the form Fabric's keystore reads. */
  readonly privateKeyPem: string;
}

/**
 * Issues one certificate. Tests use it directly for material the generator never makes (expired, foreign CA).
 * @example
 * const ca = await issueCertificate({ subject: { commonName: 'ca.x', organization: 'XMSP', locality: 'Hefei' }, profile: { kind: 'ca' } });
 */
export async function issueCertificate(options: IssueCertificateOptions): Promise<IssuedCertificate> {
  const privateKey = options.privateKey ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  assertP256(privateKey, 'privateKey');
  const publicKey = createPublicKey(privateKey);
  const { profile, subject } = options;
  const isCa = profile.kind === 'ca';

  const signer = options.issuer ?? { certificate: undefined, privateKey };
  assertP256(signer.privateKey, 'issuer.privateKey');
  const notBefore = options.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const notAfter = options.notAfter ?? defaultNotAfter(notBefore, isCa, signer.certificate);
  const subjectName = distinguishedName(subject, profile.kind === 'identity' ? profile.nodeOU : undefined);
  const issuerName = signer.certificate ? new x509.X509Certificate(signer.certificate.raw).subjectName : subjectName;

  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(isCa, undefined, true),
    new x509.KeyUsagesExtension(keyUsages(profile), true),
    new x509.SubjectKeyIdentifierExtension(subjectKeyId(publicKey)),
  ];
  if (signer.certificate) extensions.push(new x509.AuthorityKeyIdentifierExtension(issuerKeyId(signer.certificate)));
  extensions.push(...profileExtensions(profile));

  // Lay out the TBSCertificate with a placeholder signature, then sign those exact bytes with signP256.
  const unsigned = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: subjectName,
    issuer: issuerName,
    notBefore,
    notAfter,
    publicKey: publicKey.export({ type: 'spki', format: 'der' }),
    signingAlgorithm: ECDSA_SHA256,
    signature: new Uint8Array(64).fill(1),
    extensions,
  });
  const der = replaceSignature(new Uint8Array(unsigned.rawData), (tbs) => signP256(signer.privateKey, tbs));
  const certificate = new X509Certificate(der);
  return {
    certificate,
    certificatePem: certificate.toString(),
    privateKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/**
 * Fabric's subject key identifier: SHA-256 of the uncompressed EC point (cryptogen `internal/cryptogen/csp/csp.go`
 * computeSKI), not RFC 5280's SHA-1; Fabric CAs must carry one (`msp/mspimplsetup.go`).
 */
export function subjectKeyId(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.x === undefined || jwk.y === undefined) throw new PkiError('BAD_MATERIAL', 'not an EC public key');
  const point = Buffer.concat([Buffer.of(0x04), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  return sha256(point).toString('hex');
}

function issuerKeyId(issuer: X509Certificate): string {
  // Chains build on AKI = the issuer's own SKI, whatever method computed it.
  const ski = new x509.X509Certificate(issuer.raw).getExtension(x509.SubjectKeyIdentifierExtension);
  return ski?.keyId ?? subjectKeyId(issuer.publicKey);
}

function distinguishedName(subject: SubjectName, nodeOU: NodeOU | undefined): x509.Name {
  const utf8 = (value: string) => [{ utf8String: value }];
  return new x509.Name([
    { C: [{ printableString: COUNTRY }] },
    { L: utf8(subject.locality) },
    { O: utf8(subject.organization) },
    ...(nodeOU ? [{ OU: utf8(nodeOU) }] : []),
    { CN: utf8(subject.commonName) },
  ]);
}

function keyUsages(profile: CertificateProfile): x509.KeyUsageFlags {
  const { digitalSignature, keyEncipherment, keyCertSign, cRLSign } = x509.KeyUsageFlags;
  switch (profile.kind) {
    case 'ca':
      return digitalSignature | keyCertSign | cRLSign;
    case 'identity':
      return digitalSignature;
    case 'tls-server':
    case 'tls-client':
      return digitalSignature | keyEncipherment;
  }
}

function profileExtensions(profile: CertificateProfile): x509.Extension[] {
  switch (profile.kind) {
    case 'ca':
      return [];
    case 'identity':
      // fabric-ca `lib/attrmgr/attrmgr.go`: the extension value is the JSON itself, read as-is by
      // fabric-shim's ClientIdentity and fabric-chaincode-go's cid.
      return [new x509.Extension(FABRIC_ATTRS_OID, false, Buffer.from(JSON.stringify({ attrs: profile.attrs })))];
    case 'tls-server':
      return [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([
          ...profile.dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ...profile.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
        ]),
      ];
    case 'tls-client':
      return [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])];
  }
}

/**
 * 10 years for a CA, 2 for a leaf, but never past the issuer's own notAfter: a path is valid only while every
 * certificate on it is (RFC 5280 §6.1.3), so a leaf outliving its CA would fail then with a date that says otherwise.
 */
function defaultNotAfter(notBefore: Date, isCa: boolean, issuer: X509Certificate | undefined): Date {
  const own = notBefore.getTime() + (isCa ? CA_VALIDITY_DAYS : LEAF_VALIDITY_DAYS) * DAY_MS;
  return new Date(issuer === undefined ? own : Math.min(own, issuer.validToDate.getTime()));
}

/** 128 random bits, positive and of fixed length (RFC 5280 §4.1.2.2 allows up to 20 octets). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function assertP256(key: KeyObject, field: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new PkiError('BAD_MATERIAL', `"${field}" must be an ECDSA P-256 key (Fabric 2.5 suite)`);
  }
}
