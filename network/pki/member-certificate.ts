/**
 * Whether a member's own certificate (its MSP identity or its TLS certificate) is one the consortium accepts: issued
 * to its MSP ID (the O, as network/pki and the node's caller check read it), by one of its organisation's roots, and
 * within its validity period. Checked where the member starts, so an expired or foreign certificate stops it with
 * the file named rather than failing every call later with the peer's words.
 */
import type { X509Certificate } from 'node:crypto';
import { TrustedCas } from './certificate-chain.ts';
import { PkiError } from './errors.ts';

export interface MemberCertificateRules {
  readonly mspId: string;
  /** The organisation's roots that may have issued it, and the folder they were read from (for the message). */
  readonly roots: readonly X509Certificate[];
  readonly rootsDir: string;
  readonly now: Date;
}

/**
 * @returns when the certificate expires.
 * @throws PkiError `CERTIFICATE_REFUSED` naming `file`: another O, no root of `rootsDir` issued it (an intermediate
 * CA's leaf among them: not supported), it or its root has expired or is not yet valid.
 */
export function checkMemberCertificate(
  certificate: X509Certificate,
  file: string,
  rules: MemberCertificateRules,
): Date {
  const refused = (why: string) => new PkiError('CERTIFICATE_REFUSED', `${file} ${why}`, file);
  const o = subjectOrganization(certificate);
  if (o !== rules.mspId) {
    throw refused(`is issued to O=${o ?? '(none)'}, not to the MSP ID ${rules.mspId}`);
  }
  const check = new TrustedCas(rules.roots).verify(certificate, rules.now);
  if (check.ok) return certificate.validToDate;
  switch (check.code) {
    case 'UNKNOWN_AUTHORITY':
      throw refused(
        `is not issued by a root in ${rules.rootsDir} (issuer ${oneLine(certificate.issuer)}); a leaf of an ` +
          'intermediate CA is not supported yet: the leaf must be issued by a root certificate',
      );
    case 'ISSUER_NOT_A_CA':
      throw refused(`is signed by a certificate in ${rules.rootsDir} that may not issue certificates`);
    case 'ISSUER_NOT_VALID':
    case 'NOT_VALID':
      throw refused(`cannot be used: ${check.reason}`);
  }
}

/** The subject's O: node renders the subject one attribute per line in DER order ("C=CN\nL=…\nO=…\n…"). */
export function subjectOrganization(certificate: X509Certificate): string | undefined {
  return certificate.subject
    .split('\n')
    .find((line) => line.startsWith('O='))
    ?.slice(2);
}

const oneLine = (name: string) => name.replaceAll('\n', ', ');
