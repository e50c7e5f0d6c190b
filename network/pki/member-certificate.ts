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
import { subjectValues, type NodeOUIdentifiers } from './certificate-subject.ts';
import { PkiError } from './errors.ts';

export interface MemberCertificateRules {
  /** The organisation's roots that may have issued it, and the folder or file they were read from (for the message). */
  readonly roots: readonly X509Certificate[];
  readonly rootsFrom: string;
  /** An MSP identity whose config.yaml enables NodeOUs: the OU identifiers it names (loadNodeOUs). */
  readonly nodeOUs?: NodeOUIdentifiers;
  readonly now: Date;
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

const oneLine = (name: string) => name.replaceAll('\n', ', ');
