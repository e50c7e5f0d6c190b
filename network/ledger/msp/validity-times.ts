/**
 * When a certificate is checked. Fabric's MSP checks one at validation by its chain at issuance (its notBefore + 1 s,
 * msp/mspimplvalidate.go getValidityOptsForCert), not by its validity period, so that the committer's verdict and the
 * audit's replay do not depend on when they run; a request coming in is refused once its certificate expired.
 */
import type { IdentityCheck, IdentityVerifier } from '../types.ts';

/** `identities`, checking every certificate by its chain at issuance, as the committer and the audit do. */
export function atIssuance(identities: IdentityVerifier): IdentityVerifier {
  const at = 'issuance';
  return {
    hasMsp: (mspId) => identities.hasMsp(mspId),
    validate: (serialized) => identities.validate(serialized, at),
    verifySignature: (serialized, message, signature) => identities.verifySignature(serialized, message, signature, at),
    verifySignatureAsync: (serialized, message, signature) =>
      identities.verifySignatureAsync(serialized, message, signature, at),
  };
}

/**
 * `identities`, checking a certificate both by its chain at issuance, as the audit replays it, and within its validity
 * period now, as a request coming in: what passes here live passes the replay too.
 */
export function atIssuanceAndNow(identities: IdentityVerifier): IdentityVerifier {
  const issued = atIssuance(identities);
  const andNow = (check: IdentityCheck, serialized: Uint8Array): IdentityCheck =>
    check.ok ? identities.validate(serialized) : check;
  return {
    hasMsp: (mspId) => identities.hasMsp(mspId),
    validate: (serialized) => andNow(issued.validate(serialized), serialized),
    verifySignature: (serialized, message, signature) =>
      andNow(issued.verifySignature(serialized, message, signature), serialized),
    verifySignatureAsync: async (serialized, message, signature) =>
      andNow(await issued.verifySignatureAsync(serialized, message, signature), serialized),
  };
}
