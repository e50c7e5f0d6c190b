/**
 * Whether a certificate was issued by one of a set of trusted CAs, checked the way RFC 5280 §6.1 and Go's
 * crypto/x509 (which Fabric's MSP uses, `msp/mspimplvalidate.go`) check the last link of a path: the issuer's
 * name and signature, and that the issuer may issue certificates at all — basicConstraints cA=TRUE
 * (§4.2.1.9), keyCertSign when it carries a keyUsage (§4.2.1.3), and within its own validity period at the
 * time of the check (§6.1.3 (a)(2), applied to the trust anchor as OpenSSL and Go do).
 *
 * One module for every side that authenticates a member: the node's gRPC edge (client TLS certificates) and the
 * ledger's MSP (the creator of proposals and envelopes). Chains are one link long: cryptogen and network/pki
 * issue every leaf directly from the organisation's root CA, and a Fabric MSP without intermediate CAs
 * accepts nothing else.
 *
 * The certificate to check is attacker-controlled; the trusted CAs come from configuration.
 */
import 'reflect-metadata';
import type { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export type CertificateChainFailure =
  /** No trusted CA has the certificate's issuer name and a key that verifies its signature. */
  | 'UNKNOWN_AUTHORITY'
  /** The issuing CA is not a CA (basicConstraints absent or cA=FALSE) or its keyUsage lacks keyCertSign. */
  | 'ISSUER_NOT_A_CA'
  /** The issuing CA has expired or is not yet valid at the time of the check. */
  | 'ISSUER_NOT_VALID'
  /** The certificate itself has expired or is not yet valid at the time of the check. */
  | 'NOT_VALID';

export type CertificateChainCheck<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly code: CertificateChainFailure;
      /** In Go crypto/x509's words, which Fabric returns to clients (e.g. "x509: certificate signed by unknown authority"). */
      readonly reason: string;
    };

/** A trusted CA with what its extensions allow, parsed once. */
export interface TrustedCa {
  readonly certificate: X509Certificate;
  /** basicConstraints cA=TRUE and, when a keyUsage is present, keyCertSign. */
  readonly mayIssue: boolean;
  readonly validFrom: number;
  readonly validTo: number;
}

const UNKNOWN_AUTHORITY = 'x509: certificate signed by unknown authority';
/** Go's ConstraintViolationError for a parent that may not sign certificates (crypto/x509 CheckSignatureFrom). */
const CANNOT_SIGN = 'x509: invalid signature: parent certificate cannot sign this kind of certificate';

/**
 * The CAs one party trusts. `issuerOf` depends only on the certificates (cache its answer per certificate);
 * `checkValidity` depends on the time and must run at every use.
 * @example
 * const cas = new TrustedCas(rootCerts);
 * const issuer = cas.issuerOf(leaf);
 * if (issuer.ok) { const valid = cas.checkValidity(leaf, issuer.value, new Date()); }
 */
export class TrustedCas {
  readonly #cas: readonly TrustedCa[];

  constructor(certificates: readonly X509Certificate[]) {
    this.#cas = certificates.map(trustedCa);
  }

  get certificates(): X509Certificate[] {
    return this.#cas.map((ca) => ca.certificate);
  }

  /**
   * The trusted CA that issued `certificate`: matching name and verifying signature, and allowed to issue.
   * A CA that signed it but may not issue is reported as such rather than as unknown, so the log says why.
   */
  issuerOf(certificate: X509Certificate): CertificateChainCheck<TrustedCa> {
    // Name and signature only: node's checkIssued (OpenSSL X509_check_issued) would also drop a CA lacking
    // keyCertSign, and the caller would hear "unknown authority" rather than what is wrong with the CA.
    const signers = this.#cas.filter(
      (ca) => certificate.issuer === ca.certificate.subject && certificate.verify(ca.certificate.publicKey),
    );
    const issuer = signers.find((ca) => ca.mayIssue);
    if (issuer) return { ok: true, value: issuer };
    if (signers.length > 0) {
      return {
        ok: false,
        code: 'ISSUER_NOT_A_CA',
        reason: `${UNKNOWN_AUTHORITY} (possibly because of "${CANNOT_SIGN}")`,
      };
    }
    return { ok: false, code: 'UNKNOWN_AUTHORITY', reason: UNKNOWN_AUTHORITY };
  }

  /** Both the certificate and its issuing CA are within their validity periods at `at`. */
  checkValidity(certificate: X509Certificate, issuer: TrustedCa, at: Date): CertificateChainCheck<TrustedCa> {
    const now = at.getTime();
    if (now < issuer.validFrom || now > issuer.validTo) {
      return { ok: false, code: 'ISSUER_NOT_VALID', reason: expired(issuer.certificate, now, 'the issuing CA') };
    }
    if (now < certificate.validFromDate.getTime() || now > certificate.validToDate.getTime()) {
      return { ok: false, code: 'NOT_VALID', reason: expired(certificate, now, 'the certificate') };
    }
    return { ok: true, value: issuer };
  }

  /** `issuerOf`, then `checkValidity` at `at`. */
  verify(certificate: X509Certificate, at: Date): CertificateChainCheck<TrustedCa> {
    const issuer = this.issuerOf(certificate);
    return issuer.ok ? this.checkValidity(certificate, issuer.value, at) : issuer;
  }
}

function trustedCa(certificate: X509Certificate): TrustedCa {
  // The extensions themselves: node:crypto's `ca` is OpenSSL's X509_check_ca, which also counts a v1
  // self-signed certificate without extensions as a CA, and its `keyUsage` is the extended key usage.
  const parsed = new x509.X509Certificate(certificate.raw);
  const isCa = parsed.getExtension(x509.BasicConstraintsExtension)?.ca === true;
  const usages = parsed.getExtension(x509.KeyUsagesExtension)?.usages;
  const mayIssue = isCa && (usages === undefined || (usages & x509.KeyUsageFlags.keyCertSign) !== 0);
  return {
    certificate,
    mayIssue,
    validFrom: certificate.validFromDate.getTime(),
    validTo: certificate.validToDate.getTime(),
  };
}

/** Go's CertificateInvalidError{Reason: Expired} text, naming which certificate of the path failed. */
function expired(certificate: X509Certificate, now: number, which: string): string {
  const bound =
    now < certificate.validFromDate.getTime()
      ? `is before ${certificate.validFromDate.toISOString()}`
      : `is after ${certificate.validToDate.toISOString()}`;
  return `x509: certificate has expired or is not yet valid: current time ${new Date(now).toISOString()} ${bound} (${which}, ${certificate.subject.replaceAll('\n', ', ')})`;
}
