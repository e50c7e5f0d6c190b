/**
 * Reads material back from Fabric's MSP layout: a signing identity for a client or the ledger, an organisation's
 * root certificates for a channel MSP, a TLS key pair for gRPC. Works on cryptogen/fabric-ca output too.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { isPartialFile, requirePrivateMode } from '../fs/index.ts';
import { PkiError } from './errors.ts';
import { subjectOrganization, type NodeOUIdentifiers } from './certificate-subject.ts';
import { orgPaths } from './msp-paths.ts';
import {
  isNotFound,
  parseCertificate,
  parseKeyPair,
  readIfExists,
  readRequired,
  readRequiredKey,
} from './pem-files.ts';

export interface SigningIdentity {
  readonly mspId: string;
  readonly certificatePem: string;
  readonly certificate: X509Certificate;
  readonly privateKey: KeyObject;
}

export interface OrgRootCerts {
  readonly mspId: string;
  /** Roots of MSP identities (`msp/cacerts`). */
  readonly rootCerts: X509Certificate[];
  /** Roots of TLS certificates (`msp/tlscacerts`). */
  readonly tlsRootCerts: X509Certificate[];
}

/** A TLS certificate and its private key, as PEM (what gRPC and the ledger take) and the certificate parsed. */
export interface TlsKeyPair {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certificate: X509Certificate;
}

/**
 * Loads the one certificate in `signcerts/` of a local MSP folder and the key in `keystore/` that is its own:
 * fabric-ca re-enrolment leaves one `<ski>_sk` per enrolment there, so the first by name may be a former key.
 * The MSP ID is `mspId` when given, else the certificate's O (how this PKI and cryptogen issue them).
 * @throws PkiError `MATERIAL_UNSUPPORTED` for intermediate CAs (refuseIntermediates), `MATERIAL_MISSING`,
 * `BAD_MATERIAL`, `MATERIAL_INCONSISTENT` when no key is the cert's or
 * `signcerts/` holds more than one file, `KEY_EXPOSED` when the certificate's key, or another key in `keystore/`, is
 * open to other users, `BAD_MATERIAL` when the certificate's key's file holds more than one key (other files in
 * `keystore/` are passed over whatever they hold, and, as Fabric's keystore does, files above 64 KiB or that this
 * user cannot read).
 */
export async function loadSigningIdentity(mspDir: string, mspId?: string): Promise<SigningIdentity> {
  await refuseIntermediates(mspDir);
  const signcerts = join(mspDir, 'signcerts');
  const keystore = join(mspDir, 'keystore');
  const [certFile, ...others] = await listFiles(signcerts);
  if (certFile === undefined) throw new PkiError('MATERIAL_MISSING', `${signcerts} holds no file`, signcerts);
  if (others.length > 0) {
    throw new PkiError(
      'MATERIAL_INCONSISTENT',
      `${signcerts} holds ${others.length + 1} files: which certificate is the identity's is not known; keep one`,
      signcerts,
    );
  }
  const keyFiles = await listFiles(keystore);
  if (keyFiles.length === 0) throw new PkiError('MATERIAL_MISSING', `${keystore} holds no file`, keystore);
  const certificatePem = (await readRequired(certFile)).toString('utf8');
  const passedOver: string[] = [];
  let match: string | undefined;
  for (const keyFile of keyFiles) {
    const candidate = await readKeyCandidate(keyFile);
    if (typeof candidate === 'string') {
      passedOver.push(`${keyFile} ${candidate}`);
      continue;
    }
    try {
      parseKeyPair(certificatePem, certFile, candidate.bytes, keyFile);
      match ??= keyFile;
    } catch (err) {
      // A file that is no key (a README, a .gitkeep): passed over, as Fabric's keystore does.
      const notAKey = err instanceof PkiError && err.code === 'BAD_MATERIAL' && err.field === keyFile;
      const anotherKey = err instanceof PkiError && err.code === 'MATERIAL_INCONSISTENT';
      if (keyFiles.length === 1 || !(notAKey || anotherKey)) throw err;
      // Another key (a former enrolment's, never revoked) any local user could sign with: refused, not passed over.
      if (anotherKey) requireKeyFileMode(keyFile, candidate.stats);
    }
  }
  if (match !== undefined) {
    // The certificate's key: held to the key file rules (its owner's alone, one key), parsed from what was checked.
    const { certificate, privateKey } = parseKeyPair(certificatePem, certFile, await readRequiredKey(match), match);
    return { mspId: mspId ?? organizationOf(certificate, certFile), certificatePem, certificate, privateKey };
  }
  const why = passedOver.length === 0 ? '' : ` (passed over: ${passedOver.join('; ')})`;
  throw new PkiError('MATERIAL_INCONSISTENT', `no key in ${keystore} is the key of ${certFile}${why}`, keystore);
}

/** @throws PkiError `KEY_EXPOSED` naming the file when a key's file is open to other users. */
function requireKeyFileMode(file: string, stats: Stats): void {
  try {
    requirePrivateMode(file, stats);
  } catch (err) {
    throw new PkiError('KEY_EXPOSED', (err as Error).message, file, { cause: err });
  }
}

/** Larger than any key ("even large RSA keys"): Fabric's keystore (bccsp/sw fileks.go) reads no file above it. */
const MAX_KEY_FILE_BYTES = 1 << 16;

/**
 * A keystore/ file's bytes, or why it is passed over as Fabric's keystore passes it over: above 64 KiB, or not
 * readable by this user (a former enrolment's key left root's 0600 beside the node's own).
 */
async function readKeyCandidate(file: string): Promise<{ bytes: Buffer; stats: Stats } | string> {
  try {
    const handle = await open(file, 'r');
    try {
      const stats = await handle.stat();
      if (stats.size > MAX_KEY_FILE_BYTES) return 'is larger than 64 KiB';
      return { bytes: await handle.readFile(), stats };
    } finally {
      await handle.close();
    }
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
}

/**
 * Every CA certificate of an organisation's MSP under `outDir`: what a channel MSP trusts, TLS roots included (the
 * consortium's trust bundles are made of them).
 * @throws PkiError as loadMspRootCerts, `MATERIAL_MISSING` when `tlscacerts/` holds no certificate.
 */
export async function loadOrgRootCerts(outDir: string, mspId: string): Promise<OrgRootCerts> {
  const msp = orgPaths(outDir, mspId).msp;
  const roots = await loadMspRootCerts(msp.dir);
  if (roots.tlsRootCerts.length === 0) {
    const dir = dirname(msp.tlscacert);
    throw new PkiError('MATERIAL_MISSING', `${dir} holds no certificate`, dir);
  }
  return { mspId, ...roots };
}

/**
 * The roots an MSP folder trusts, of identities (`cacerts/`) and of TLS certificates (`tlscacerts/`, none when the
 * folder is missing or empty: Fabric's MSP skips it then, and `fabric-ca-client enroll -M msp` writes none).
 * @throws PkiError `MATERIAL_MISSING`, `BAD_MATERIAL`, `MATERIAL_UNSUPPORTED` as refuseIntermediates.
 */
export async function loadMspRootCerts(mspDir: string): Promise<Omit<OrgRootCerts, 'mspId'>> {
  await refuseIntermediates(mspDir);
  const tlscacerts = join(mspDir, 'tlscacerts');
  const [rootCerts, tlsRootCerts] = await Promise.all([
    loadCertificates(join(mspDir, 'cacerts')),
    loadCertificates(tlscacerts).catch((err: unknown) => {
      if (err instanceof PkiError && err.code === 'MATERIAL_MISSING' && err.field === tlscacerts) return [];
      throw err;
    }),
  ]);
  return { rootCerts, tlsRootCerts };
}

/**
 * The NodeOU identifiers an MSP folder's `config.yaml` names when it enables NodeOUs (client, peer, admin, orderer
 * as cryptogen and fabric-ca write them), else undefined: no file, or `NodeOUs.Enable` not true.
 * @throws PkiError `BAD_MATERIAL` naming the file when it is no YAML or enables NodeOUs naming no identifier.
 */
export async function loadNodeOUs(mspDir: string): Promise<NodeOUIdentifiers | undefined> {
  const file = join(mspDir, 'config.yaml');
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  let config: unknown;
  try {
    config = parse(text);
  } catch (err) {
    throw new PkiError('BAD_MATERIAL', `${file} is not YAML: ${(err as Error).message}`, file, { cause: err });
  }
  const nodeOUs = field(config, 'NodeOUs');
  if (field(nodeOUs, 'Enable') !== true) return undefined;
  const identifiers = NODE_OU_KEYS.map((key) => field(field(nodeOUs, key), 'OrganizationalUnitIdentifier')).filter(
    (ou): ou is string => typeof ou === 'string' && ou !== '',
  );
  if (identifiers.length === 0) {
    throw new PkiError('BAD_MATERIAL', `${file} enables NodeOUs but names no OrganizationalUnitIdentifier`, file);
  }
  return { identifiers, file };
}

/** Fabric's config.yaml keys of the NodeOUs it knows (msp/configbuilder.go). */
const NODE_OU_KEYS = ['ClientOUIdentifier', 'PeerOUIdentifier', 'AdminOUIdentifier', 'OrdererOUIdentifier'];

const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;

/**
 * Every certificate of a PEM bundle file (node.yaml's tls.clientCaBundle).
 * @throws PkiError `MATERIAL_MISSING`, `BAD_MATERIAL` naming the file when it holds no certificate or a bad one.
 */
export async function loadCertificateBundle(file: string): Promise<X509Certificate[]> {
  const blocks = (await readRequired(file)).toString('utf8').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new PkiError('BAD_MATERIAL', `${file} holds no PEM certificate`, file);
  return blocks.map((pem) => parseCertificate(pem, file));
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Intermediate CAs (a Fabric CA under a root: `intermediatecerts/`, `tlsintermediatecerts/`) are not supported yet:
 * the channel MSP, the ledger and the node's caller check read roots only and would refuse their leaves as of an
 * unknown authority, saying nothing of intermediates. Refused where the folder is read, naming them.
 * @throws PkiError `MATERIAL_UNSUPPORTED` naming the folder.
 */
async function refuseIntermediates(mspDir: string): Promise<void> {
  for (const name of ['intermediatecerts', 'tlsintermediatecerts']) {
    const dir = join(mspDir, name);
    const files = await listFiles(dir).catch((err: unknown) => {
      if (err instanceof PkiError && err.code === 'MATERIAL_MISSING') return [];
      throw err;
    });
    if (files.length > 0) {
      throw new PkiError(
        'MATERIAL_UNSUPPORTED',
        `${dir} holds ${files.length} intermediate CA certificate(s): intermediate CAs are not supported yet; ` +
          'issue the leaves from a root CA (or see README, crypto material)',
        dir,
      );
    }
  }
}

/**
 * A TLS certificate and the private key that is its own, the key held to the key file rules (its owner's alone, one
 * key): read any other way, a world-readable key is served, the first of two keys is taken silently, and a key of
 * another certificate fails in OpenSSL as "key values mismatch", naming neither file.
 * @throws PkiError `MATERIAL_MISSING`, `KEY_EXPOSED`, `BAD_MATERIAL` or `MATERIAL_INCONSISTENT`, `field` the file.
 */
export async function loadTlsKeyPair(certFile: string, keyFile: string): Promise<TlsKeyPair> {
  // One after the other: when both are missing, the certificate is always the one named.
  const certPem = (await readRequired(certFile)).toString('utf8');
  const keyPem = (await readRequiredKey(keyFile)).toString('utf8');
  const { certificate } = parseKeyPair(certPem, certFile, keyPem, keyFile);
  return { certPem, keyPem, certificate };
}

async function loadCertificates(dir: string): Promise<X509Certificate[]> {
  const files = await listFiles(dir);
  if (files.length === 0) throw new PkiError('MATERIAL_MISSING', `${dir} holds no certificate`, dir);
  return Promise.all(files.map(async (file) => parseCertificate((await readRequired(file)).toString('utf8'), file)));
}

/**
 * Regular files of `dir` in name order (Fabric reads directories the same way: `msp/configbuilder.go`), symlinks
 * followed as Fabric's os.Stat does — a Kubernetes Secret's files are symlinks (`priv_sk -> ..data/priv_sk`, `..data`
 * a symlink to a folder, passed over) — but for the temporary files a crash of the generator left (the next run
 * removes them): whole or half, they are not the material. Fabric's own loader reads every file of `signcerts/` and
 * `cacerts/` that holds a PEM block, and skips in `keystore/` any file that is no private key or not the
 * certificate's (bccsp/sw `fileks.go`).
 */
async function listFiles(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err)) throw new PkiError('MATERIAL_MISSING', `${dir} does not exist`, dir, { cause: err });
    throw err;
  }
  const names = await Promise.all(
    entries.map(async (entry) => {
      if (isPartialFile(entry.name)) return undefined;
      // A symlink that leads nowhere is passed over, as Fabric does (a warning there).
      const file = entry.isSymbolicLink() ? await stat(join(dir, entry.name)).catch(() => undefined) : entry;
      return file?.isFile() === true ? entry.name : undefined;
    }),
  );
  return names
    .filter((name): name is string => name !== undefined)
    .sort()
    .map((name) => join(dir, name));
}

function organizationOf(certificate: X509Certificate, file: string): string {
  const o = subjectOrganization(certificate);
  if (o === undefined)
    throw new PkiError('BAD_MATERIAL', `${file} has no O (organization) to take the MSP ID from`, file);
  return o;
}
