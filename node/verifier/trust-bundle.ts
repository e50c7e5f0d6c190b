/**
 * The consortium trust bundle: what an offline verifier trusts, exported from the on-chain registry
 * (ListOrganizations, ListKeys, ListNodes) plus each organisation's CA certificates. Versioned JSON:
 *
 *   { "format": "lianxin-trust-bundle/v1", "channel", "exportedAt",
 *     "organizations": [{ mspId, name, role, status, rootCerts: [PEM], tlsRootCerts: [PEM] }],
 *     "keys": [{ kid, mspId, role, suite, spki (base64 DER), validFrom, validUntil | null, status }],
 *     "origins": [{ origin, mspId }] }
 *
 * Keys are never dropped: rotated and revoked keys stay, with their closed windows, so that old attestations
 * keep verifying (chaincode registry.ts). Field rules are the chaincode's own (lianxin-chaincode validation).
 *
 * This is the verifier core's reader (Node and browser): keys are imported through the crypto port, CA
 * certificates are checked with a DER walk (der.ts) since a browser has no X.509 parser; node/receipts adds
 * node:crypto X509Certificate objects on top and builds bundles from the registry.
 */
import {
  canonicalJson,
  ChaincodeError,
  decodeBase64Strict,
  KEY_ROLES,
  type KeyRole,
  type KeyStatus,
  ORG_ROLES,
  type OrgRole,
  type OrgStatus,
  requireDigest,
  requireMspId,
  requireOneOf,
  requireRecord,
  requireString,
  requireTime,
  type Suite,
  SUITES,
} from '../../chaincode/src/protocol-portable.ts';
import { toHex } from './bytes.ts';
import type { P256PublicKey, VerifierCrypto } from './crypto-port.ts';
import { TRUST_BUNDLE_FORMAT } from './constants.ts';
import { certificateIsCa, pemCertificateDer, readP256SpkiPoint } from './der.ts';
import { ReceiptsError } from './errors.ts';

export interface TrustBundleJson {
  readonly format: typeof TRUST_BUNDLE_FORMAT;
  /** The Fabric channel the registry lives on; attestations anchored elsewhere are refused. */
  readonly channel: string;
  /** RFC 3339 UTC time of the export. */
  readonly exportedAt: string;
  readonly organizations: readonly TrustBundleOrganization[];
  readonly keys: readonly TrustBundleKey[];
  readonly origins: readonly TrustBundleOrigin[];
}

export interface TrustBundleOrganization {
  readonly mspId: string;
  readonly name: string;
  readonly role: OrgRole;
  readonly status: OrgStatus;
  /** PEM, one certificate each: roots of the MSP's identities (`msp/cacerts`). */
  readonly rootCerts: readonly string[];
  /** PEM, one certificate each: roots of its TLS certificates (`msp/tlscacerts`). */
  readonly tlsRootCerts: readonly string[];
}

export interface TrustBundleKey {
  /** Lower-case hex SHA-256 of the SPKI DER. */
  readonly kid: string;
  readonly mspId: string;
  readonly role: KeyRole;
  readonly suite: Suite;
  /** Base64 SPKI DER. */
  readonly spki: string;
  readonly validFrom: string;
  /** Null: open-ended. Rotation and revocation close it. */
  readonly validUntil: string | null;
  readonly status: KeyStatus;
}

export interface TrustBundleOrigin {
  /** A log origin `lianxin/<MSP>/<shard>`. */
  readonly origin: string;
  readonly mspId: string;
}

/** An organisation of the bundle, its CA certificates checked (one PEM CA certificate each). */
export type TrustedOrganization = TrustBundleOrganization;

/** A registered key, parsed once: verification never re-parses SPKI. */
export interface TrustedKey extends TrustBundleKey {
  /** Imported by the bundle's crypto backend. */
  readonly publicKey: P256PublicKey;
  readonly validFromMs: number;
  readonly validUntilMs: number | null;
  /** C2SP signed-note key ID of ECDSA keys: the first 4 bytes of the kid (chaincode README, AnchorCheckpoint). */
  readonly noteKeyId: Uint8Array;
}

/** A validated, indexed trust bundle. */
export interface TrustBundle {
  /** The validated document (the parsed object itself when an object was given: do not change it). */
  readonly json: TrustBundleJson;
  /** The backend the keys were imported with; verification with this bundle uses it. */
  readonly crypto: VerifierCrypto;
  organization(mspId: string): TrustedOrganization | undefined;
  /** A key registered by `mspId` (two organisations may register the same public key). */
  key(mspId: string, kid: string): TrustedKey | undefined;
  keysOf(mspId: string, role: KeyRole): readonly TrustedKey[];
  /** The organisation a log origin is registered to. */
  originOwner(origin: string): string | undefined;
}

const KEY_STATUSES: readonly KeyStatus[] = ['active', 'rotated', 'revoked'];
const ORG_STATUSES: readonly OrgStatus[] = ['active', 'suspended'];
/**
 * Per-organisation certificates (the MSP's own directories, not registry rows) are capped. Organisations, keys and
 * origins are not: the registry never drops a key and caps none of them, so any cap here would be a state the chain
 * can legally reach and every bundle would then be refused.
 */
const MAX_CERTS = 16;

/**
 * The most bytes of a trust bundle file the CLI and the Verify page read: a consortium's organisations, CA
 * certificates and years of rotated keys are well under a MiB; a file far larger is refused before JSON.parse
 * builds it in memory.
 */
export const MAX_TRUST_BUNDLE_BYTES = 16 * 1024 * 1024;

/**
 * Refuses a trust bundle file of `byteLength` bytes, before it is decoded, when over MAX_TRUST_BUNDLE_BYTES.
 * @throws ReceiptsError `INVALID_TRUST_BUNDLE` naming both sizes.
 */
export function requireTrustBundleSize(byteLength: number): void {
  if (byteLength > MAX_TRUST_BUNDLE_BYTES) {
    throw new ReceiptsError('INVALID_TRUST_BUNDLE', `${byteLength} bytes, more than ${MAX_TRUST_BUNDLE_BYTES}`);
  }
}

/**
 * Reads a trust bundle (JSON text or the parsed value), validating every field. Untrusted input: a bundle
 * arrives as a file.
 * @throws ReceiptsError `INVALID_TRUST_BUNDLE` with `field` the path of the first bad field (`keys[2].validUntil`).
 */
export function parseTrustBundle(input: string | object, crypto: VerifierCrypto): TrustBundle {
  const value = typeof input === 'string' ? parseJson(input) : input;
  const root = checked('', () => requireRecord('trust bundle', value));
  onlyFields('', root, ['format', 'channel', 'exportedAt', 'organizations', 'keys', 'origins']);
  if (root.format !== TRUST_BUNDLE_FORMAT) {
    throw new ReceiptsError('INVALID_TRUST_BUNDLE', `"format" must be "${TRUST_BUNDLE_FORMAT}"`, 'format');
  }
  checked('channel', (f) => requireString(f, root.channel, 249));
  const exportedAt = checked('exportedAt', (f) => requireString(f, root.exportedAt, 40));
  checked('exportedAt', (f) => requireTime(f, exportedAt));

  const organizations = new Map<string, TrustedOrganization>();
  arrayOf('organizations', root.organizations).forEach((item, i) => {
    const org = readOrganization(`organizations[${i}]`, item);
    if (organizations.has(org.mspId)) throw duplicate(`organizations[${i}].mspId`, org.mspId);
    organizations.set(org.mspId, org);
  });
  const keys = new Map<string, Map<string, TrustedKey>>();
  const byRole = new Map<string, TrustedKey[]>();
  arrayOf('keys', root.keys).forEach((item, i) => {
    const key = readKey(`keys[${i}]`, item, crypto);
    if (!organizations.has(key.mspId)) throw unknownOrganization(`keys[${i}].mspId`, key.mspId);
    const own = keys.get(key.mspId) ?? new Map<string, TrustedKey>();
    if (own.has(key.kid)) throw duplicate(`keys[${i}].kid`, key.kid);
    keys.set(key.mspId, own.set(key.kid, key));
    const role = `${key.mspId}/${key.role}`;
    const sameRole = byRole.get(role) ?? [];
    sameRole.push(key);
    byRole.set(role, sameRole);
  });
  const origins = new Map<string, string>();
  arrayOf('origins', root.origins).forEach((item, i) => {
    const path = `origins[${i}]`;
    const record = checked(path, (f) => requireRecord(f, item));
    onlyFields(path, record, ['origin', 'mspId']);
    const origin = checked(`${path}.origin`, (f) => requireString(f, record.origin, 200));
    const mspId = checked(`${path}.mspId`, (f) => requireMspId(f, record.mspId));
    if (!organizations.has(mspId)) throw unknownOrganization(`${path}.mspId`, mspId);
    if (origins.has(origin)) throw duplicate(`${path}.origin`, origin);
    origins.set(origin, mspId);
  });

  return {
    // Every field was checked above and no other field is allowed: the input is a TrustBundleJson.
    json: root as unknown as TrustBundleJson,
    crypto,
    organization: (mspId) => organizations.get(mspId),
    key: (mspId, kid) => keys.get(mspId)?.get(kid),
    keysOf: (mspId, role) => byRole.get(`${mspId}/${role}`) ?? [],
    originOwner: (origin) => origins.get(origin),
  };
}

/**
 * The bundle's fingerprint, to compare two bundles obtained apart (the Verify page's fetched one, a node's own
 * `lianxin bundle export`): lower-case hex SHA-256 of its canonical JSON without `exportedAt` (each export stamps its
 * own time), organisations, keys and origins sorted as the exporter sorts them — so the same registry state has the
 * same fingerprint whatever the file's time, spacing or order. A hash of a file's bytes never matches another
 * export's. `json` as parsed (parseTrustBundle refuses fields the format has not).
 */
export function trustBundleFingerprint(json: TrustBundleJson, crypto: Pick<VerifierCrypto, 'sha256'>): string {
  const content = canonicalJson({
    ...json,
    exportedAt: undefined,
    organizations: sortedBy(json.organizations, (o) => o.mspId),
    keys: sortedBy(json.keys, (k) => `${k.mspId}/${k.kid}`),
    origins: sortedBy(json.origins, (o) => o.origin),
  });
  return toHex(crypto.sha256(new TextEncoder().encode(content)));
}

/** `items` by `key`, in code unit order (not the locale's): the same in every browser and in Node. */
export function sortedBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function readOrganization(path: string, item: unknown): TrustedOrganization {
  const record = checked(path, (f) => requireRecord(f, item));
  onlyFields(path, record, ['mspId', 'name', 'role', 'status', 'rootCerts', 'tlsRootCerts']);
  const rootCerts = arrayOf(`${path}.rootCerts`, record.rootCerts, MAX_CERTS);
  const tlsRootCerts = arrayOf(`${path}.tlsRootCerts`, record.tlsRootCerts, MAX_CERTS);
  return {
    mspId: checked(`${path}.mspId`, (f) => requireMspId(f, record.mspId)),
    name: checked(`${path}.name`, (f) => requireString(f, record.name, 200)),
    role: checked(`${path}.role`, (f) => requireOneOf(f, record.role, ORG_ROLES)),
    status: checked(`${path}.status`, (f) => requireOneOf(f, record.status, ORG_STATUSES)),
    rootCerts: rootCerts.map((pem, i) => readCaCertificate(`${path}.rootCerts[${i}]`, pem)),
    tlsRootCerts: tlsRootCerts.map((pem, i) => readCaCertificate(`${path}.tlsRootCerts[${i}]`, pem)),
  };
}

/** One PEM CA certificate: its basicConstraints says cA (as node:crypto `X509Certificate.ca`). */
function readCaCertificate(path: string, pem: unknown): string {
  const der = typeof pem === 'string' ? pemCertificateDer(pem) : undefined;
  if (typeof pem !== 'string' || der === undefined) {
    throw new ReceiptsError('INVALID_TRUST_BUNDLE', `"${path}" must be one PEM certificate`, path);
  }
  const ca = certificateIsCa(der);
  if (ca === undefined) throw new ReceiptsError('INVALID_TRUST_BUNDLE', `"${path}" is not an X.509 certificate`, path);
  if (!ca) throw new ReceiptsError('INVALID_TRUST_BUNDLE', `"${path}" is not a CA certificate`, path);
  return pem;
}

function readKey(path: string, item: unknown, crypto: VerifierCrypto): TrustedKey {
  const record = checked(path, (f) => requireRecord(f, item));
  onlyFields(path, record, ['kid', 'mspId', 'role', 'suite', 'spki', 'validFrom', 'validUntil', 'status']);
  const kid = checked(`${path}.kid`, (f) => requireDigest(f, record.kid));
  const spki = checked(`${path}.spki`, (f) => requireString(f, record.spki, 1024));
  const der = decodeBase64Strict(spki);
  const point = der === undefined ? undefined : readP256SpkiPoint(der);
  const publicKey = der === undefined || point === undefined ? undefined : crypto.importP256(der, point);
  if (der === undefined || publicKey === undefined) {
    throw new ReceiptsError(
      'INVALID_TRUST_BUNDLE',
      `"${path}.spki" must be the base64 SPKI DER of an ECDSA P-256 public key`,
      `${path}.spki`,
    );
  }
  if (toHex(crypto.sha256(der)) !== kid)
    throw new ReceiptsError(
      'INVALID_TRUST_BUNDLE',
      `"${path}.kid" is not the SHA-256 of "${path}.spki"`,
      `${path}.kid`,
    );
  const validFrom = checked(`${path}.validFrom`, (f) => requireString(f, record.validFrom, 40));
  const validUntil =
    record.validUntil === null ? null : checked(`${path}.validUntil`, (f) => requireString(f, record.validUntil, 40));
  const validFromMs = checked(`${path}.validFrom`, (f) => requireTime(f, validFrom));
  const validUntilMs = validUntil === null ? null : checked(`${path}.validUntil`, (f) => requireTime(f, validUntil));
  const status = checked(`${path}.status`, (f) => requireOneOf(f, record.status, KEY_STATUSES));
  // RegisterKey refuses a window that ends before it starts. Rotation and revocation close the window where they
  // happen: a key revoked before it started holds one valid at no time (validUntil == validFrom; before the
  // chaincode clamped it, earlier than validFrom), a window the verifier's checks refuse at every instant.
  // The chain closes the window of every key it rotates or revokes: an open one would trust that key forever.
  if (status !== 'active' && validUntilMs === null) {
    throw new ReceiptsError(
      'INVALID_TRUST_BUNDLE',
      `"${path}.validUntil" must be a time for a ${status} key`,
      `${path}.validUntil`,
    );
  }
  if (status === 'active' && validUntilMs !== null && validUntilMs <= validFromMs) {
    throw new ReceiptsError(
      'INVALID_TRUST_BUNDLE',
      `"${path}.validUntil" must be after "${path}.validFrom" for an active key`,
      `${path}.validUntil`,
    );
  }
  return {
    kid,
    mspId: checked(`${path}.mspId`, (f) => requireMspId(f, record.mspId)),
    role: checked(`${path}.role`, (f) => requireOneOf(f, record.role, KEY_ROLES)),
    suite: checked(`${path}.suite`, (f) => requireOneOf(f, record.suite, SUITES)),
    spki,
    validFrom,
    validUntil,
    status,
    publicKey,
    validFromMs,
    validUntilMs,
    noteKeyId: crypto.sha256(der).subarray(0, 4),
  };
}

/** Runs one of the chaincode's field checks, reporting its failure as a trust bundle error on that field. */
function checked<T>(path: string, check: (field: string) => T): T {
  try {
    return check(path);
  } catch (err) {
    if (err instanceof ChaincodeError)
      throw new ReceiptsError('INVALID_TRUST_BUNDLE', err.detail, path || undefined, { cause: err });
    throw err;
  }
}

function arrayOf(path: string, value: unknown, max?: number): readonly unknown[] {
  if (!Array.isArray(value) || (max !== undefined && value.length > max)) {
    const most = max === undefined ? '' : ` of at most ${max} items`;
    throw new ReceiptsError('INVALID_TRUST_BUNDLE', `"${path}" must be an array${most}`, path);
  }
  return value as unknown[];
}

function onlyFields(path: string, record: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(record).find((name) => !allowed.includes(name));
  if (extra !== undefined) {
    const field = path === '' ? extra : `${path}.${extra}`;
    throw new ReceiptsError('INVALID_TRUST_BUNDLE', `"${field}" is not a field of ${TRUST_BUNDLE_FORMAT}`, field);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ReceiptsError('INVALID_TRUST_BUNDLE', 'trust bundle is not valid JSON', undefined, { cause: err });
  }
}

function duplicate(path: string, value: string): ReceiptsError {
  return new ReceiptsError('INVALID_TRUST_BUNDLE', `"${path}" repeats ${value}`, path);
}

function unknownOrganization(path: string, mspId: string): ReceiptsError {
  return new ReceiptsError(
    'INVALID_TRUST_BUNDLE',
    `"${path}" names ${mspId}, which is not among "organizations"`,
    path,
  );
}
