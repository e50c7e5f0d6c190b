/**
 * What a certificate's subject says, read without the X.509 path library (@peculiar/x509): the client commands load
 * this and must stay light (node/cli/start-up-cost.test.ts).
 */
import type { X509Certificate } from 'node:crypto';

/** The NodeOU identifiers of an MSP folder's config.yaml, and that file (for the message). */
export interface NodeOUIdentifiers {
  readonly identifiers: readonly string[];
  readonly file: string;
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
