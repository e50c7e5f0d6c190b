/**
 * The consortium trust bundle as the node uses it: built from the on-chain registry (ListOrganizations, ListKeys,
 * ListNodes) plus each organisation's CA certificates, read with the verifier core's reader (node/verifier
 * trust-bundle.ts: the format, its field rules and limits are there) on the node:crypto backend, with node:crypto
 * X509Certificate objects for the CA certificates.
 */
import { X509Certificate } from 'node:crypto';
import type { NodeRecord, Organization, PublicKeyRecord } from '../../chaincode/src/protocol.ts';
import type { OrgRootCerts } from '../../network/pki/index.ts';
import { nodeCrypto } from '../verifier/node-crypto.ts';
import {
  parseTrustBundle as parseWith,
  sortedBy,
  type TrustBundle as CoreTrustBundle,
  type TrustBundleJson,
  type TrustBundleOrganization,
} from '../verifier/trust-bundle.ts';
import { TRUST_BUNDLE_FORMAT } from './constants.ts';
import { ReceiptsError } from './errors.ts';

export type {
  TrustBundleJson,
  TrustBundleKey,
  TrustBundleOrganization,
  TrustBundleOrigin,
  TrustedKey,
} from '../verifier/trust-bundle.ts';

export interface TrustedOrganization extends TrustBundleOrganization {
  readonly rootCertificates: readonly X509Certificate[];
  readonly tlsRootCertificates: readonly X509Certificate[];
}

/** A validated, indexed trust bundle, its keys imported with node:crypto and its CA certificates parsed. */
export interface TrustBundle extends CoreTrustBundle {
  organization(mspId: string): TrustedOrganization | undefined;
}

/** Registry query results (the chaincode's JSON rows) and CA material, as `buildTrustBundle` takes them. */
export interface TrustBundleSources {
  readonly channel: string;
  readonly exportedAt: Date;
  /** ListOrganizations, every page. */
  readonly organizations: readonly Organization[];
  /** ListKeys of every organisation, every page: rotated and revoked keys included. */
  readonly keys: readonly PublicKeyRecord[];
  /** ListNodes of every organisation, every page: each node owns one log origin. */
  readonly nodes: readonly NodeRecord[];
  /** Each organisation's CA certificates (network/pki `loadOrgRootCerts`). */
  readonly certificates: readonly OrgRootCerts[];
}

/**
 * Builds the bundle from registry rows and CA certificates, sorted so that equal inputs give equal files, and
 * validated as `parseTrustBundle` would read it. Serialize with `JSON.stringify(bundle, null, 2)`.
 * @throws ReceiptsError `INVALID_TRUST_BUNDLE` when the rows are inconsistent (a key of an unknown organisation).
 */
export function buildTrustBundle(sources: TrustBundleSources): TrustBundleJson {
  const certificates = new Map(sources.certificates.map((c) => [c.mspId, c]));
  const json: TrustBundleJson = {
    format: TRUST_BUNDLE_FORMAT,
    channel: sources.channel,
    exportedAt: sources.exportedAt.toISOString(),
    organizations: sortedBy(sources.organizations, (o) => o.mspId).map((org) => ({
      mspId: org.mspId,
      name: org.name,
      role: org.role,
      status: org.status,
      rootCerts: (certificates.get(org.mspId)?.rootCerts ?? []).map((cert) => cert.toString()),
      tlsRootCerts: (certificates.get(org.mspId)?.tlsRootCerts ?? []).map((cert) => cert.toString()),
    })),
    keys: sortedBy(sources.keys, (k) => `${k.mspId}/${k.kid}`).map((key) => ({
      kid: key.kid,
      mspId: key.mspId,
      role: key.role,
      suite: key.suite,
      spki: key.publicKey,
      validFrom: key.validFrom,
      validUntil: key.validUntil,
      status: key.status,
    })),
    origins: sortedBy(sources.nodes, (n) => n.origin).map((node) => ({ origin: node.origin, mspId: node.mspId })),
  };
  parseTrustBundle(json);
  return json;
}

/**
 * Reads a trust bundle (JSON text or the parsed value), validating every field, with the node:crypto backend.
 * Untrusted input: a bundle arrives as a file.
 * @throws ReceiptsError `INVALID_TRUST_BUNDLE` with `field` the path of the first bad field (`keys[2].validUntil`).
 */
export function parseTrustBundle(input: string | object): TrustBundle {
  const core = parseWith(input, nodeCrypto);
  const organizations = new Map<string, TrustedOrganization>();
  core.json.organizations.forEach((org, i) => {
    organizations.set(org.mspId, {
      ...org,
      rootCertificates: org.rootCerts.map((pem, j) => x509(`organizations[${i}].rootCerts[${j}]`, pem)),
      tlsRootCertificates: org.tlsRootCerts.map((pem, j) => x509(`organizations[${i}].tlsRootCerts[${j}]`, pem)),
    });
  });
  return { ...core, organization: (mspId) => organizations.get(mspId) };
}

/** OpenSSL's reading of a certificate the core's DER walk accepted; it must agree that it is a CA. */
function x509(path: string, pem: string): X509Certificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (err) {
    throw new ReceiptsError('INVALID_TRUST_BUNDLE', `"${path}" is not an X.509 certificate`, path, { cause: err });
  }
  if (!certificate.ca) throw new ReceiptsError('INVALID_TRUST_BUNDLE', `"${path}" is not a CA certificate`, path);
  return certificate;
}
