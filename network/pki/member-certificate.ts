/**
 * Whether a member's own certificate (its MSP identity or its TLS certificate) is one the consortium accepts, by the
 * rules Fabric's MSP and the ledger apply to a creator: issued by one of its organisation's roots, within its
 * validity period, and (an identity whose MSP's config.yaml enables NodeOUs) carrying exactly one NodeOU. The O is
 * no part of them: fabric-ca-client's default CSR gives O=Hyperledger, cryptogen the organisation's domain. Checked
 * where the member starts, so an expired or foreign certificate stops it with the file named rather than failing
 * every call later with the peer's words.
 */
import type { X509Certificate } from 'node:crypto';
import { TrustedCas } from './certificate-chain.ts';
import { PkiError } from './errors.ts';

export interface MemberCertificateRules {
  /** The organisation's roots that may have issued it, and the folder or file they were read from (for the message). */
  readonly roots: readonly X509Certificate[];
  readonly rootsFrom: string;
  /** An MSP identity whose config.yaml enables NodeOUs: the OU identifiers it names (loadNodeOUs). */
  readonly nodeOUs?: NodeOUIdentifiers;
  readonly now: Date;
}

/** The NodeOU identifiers of an MSP folder's config.yaml, and that file (for the message). */
export interface NodeOUIdentifiers {
  readonly identifiers: readonly string[];
  readonly file: string;
}

/**
 * @returns when the certificate expires.
 * @throws PkiError `CERTIFICATE_REFUSED` naming `file`: no root of `rootsFrom` issued it (an intermediate CA's leaf
 * among them: not supported), it or its root has expired or is not yet valid, it carries no NodeOU or several.
 */
export function checkMemberCertificate(
  certificate: X509Certificate,
  file: string,
  rules: MemberCertificateRules,
): Date {
  const refused = (why: string) => new PkiError('CERTIFICATE_REFUSED', `${file} ${why}`, file);
  const check = new TrustedCas(rules.roots).verify(certificate, rules.now);
  if (!check.ok) {
    switch (check.code) {
      case 'UNKNOWN_AUTHORITY':
        throw refused(
          `is not issued by a root in ${rules.rootsFrom} (issuer ${oneLine(certificate.issuer)}); a leaf of an ` +
            'intermediate CA is not supported yet: the leaf must be issued by a root certificate',
        );
      case 'ISSUER_NOT_A_CA':
        throw refused(`is signed by a certificate in ${rules.rootsFrom} that may not issue certificates`);
      case 'ISSUER_NOT_VALID':
      case 'NOT_VALID':
        throw refused(`cannot be used: ${check.reason}`);
    }
  }
  if (rules.nodeOUs !== undefined) {
    const { identifiers, file: config } = rules.nodeOUs;
    const carried = subjectValues(certificate, 'OU').filter((ou) => identifiers.includes(ou));
    if (carried.length !== 1) {
      throw refused(
        `carries ${carried.length === 0 ? 'none' : carried.join(' and ')} of the NodeOUs ${config} enables ` +
          `(${identifiers.join(', ')}): Fabric's MSP and the ledger accept an identity with exactly one`,
      );
    }
  }
  return certificate.validToDate;
}

/** The subject's O: node renders the subject one attribute per line in DER order ("C=CN\nL=…\nO=…\n…"). */
export function subjectOrganization(certificate: X509Certificate): string | undefined {
  return certificate.subject
    .split('\n')
    .find((line) => line.startsWith('O='))
    ?.slice(2);
}

/**
 * Every value of one attribute of the subject. From the legacy object, not the subject's lines: Go (fabric-ca)
 * writes a subject's OUs as one multi-valued RDN, which node renders on one line ("OU=org1 + OU=client").
 */
export function subjectValues(certificate: X509Certificate, attribute: string): string[] {
  const value: unknown = (certificate.toLegacyObject().subject as Record<string, unknown>)[attribute];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

const oneLine = (name: string) => name.replaceAll('\n', ', ');
