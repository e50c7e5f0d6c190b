/**
 * The node's own certificates at start: its TLS key pair read by the key file rules, and its MSP identity and TLS
 * certificate checked as the consortium will check them, errors naming the node.yaml field.
 */
import type { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import {
  checkMemberCertificate,
  loadCertificateBundle,
  loadMspRootCerts,
  loadNodeOUs,
  loadSigningIdentity,
  loadTlsKeyPair,
  subjectOrganization,
  PkiError,
  type MemberCertificateRules,
  type TlsKeyPair,
} from '../network/pki/index.ts';
import type { NodeConfig } from './config/index.ts';
import type { Logger } from './logging/index.ts';
import type { NodeMetrics, OwnCertificate } from './metrics/index.ts';
import { NodeStartError } from './node-errors.ts';

/** A TLS certificate and key of node.yaml and the fields that name them (`tls.key`, `operations.tls.cert`, …). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly certField: string;
  readonly keyField: string;
}

/** `tls.cert` and `tls.key`. */
export const nodeTlsFiles = (tls: { readonly cert: string; readonly key: string }): TlsFiles => ({
  ...tls,
  certField: 'tls.cert',
  keyField: 'tls.key',
});

/**
 * The key pair, its key held to the key file rules (its owner's alone, one key) and checked to be the certificate's.
 * @throws NodeStartError `KEY_INVALID` naming the field and the file.
 */
export async function readTlsKeyPair(files: TlsFiles): Promise<TlsKeyPair> {
  try {
    return await loadTlsKeyPair(files.cert, files.key);
  } catch (err) {
    if (!(err instanceof PkiError)) throw err;
    const file = err.field ?? files.key;
    const field = file === files.cert ? files.certField : files.keyField;
    throw new NodeStartError('KEY_INVALID', `${field}: ${err.message}`, file, { cause: err });
  }
}

/** What an O other than the MSP ID means for each certificate (a Fabric CA's default CSR gives O=Hyperledger). */
const OTHER_O: Readonly<Record<OwnCertificate, string>> = {
  identity: 'accepted (Fabric and the ledger read no O of a creator)',
  tls:
    "accepted as the node's server certificate; a node API's caller check takes a client certificate's O as its " +
    'MSP ID, so calls made to it with this certificate are refused (README, crypto material)',
};

/** From this many days before a certificate's notAfter, the node warns at start. */
const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

/**
 * The node's MSP identity (identity.mspDir) and TLS certificate (tls.cert) judged at start as the ledger, Fabric and
 * other nodes judge them later: the identity issued by a root of the MSP folder's `cacerts/`, valid now, with exactly
 * one NodeOU where the folder's config.yaml enables them; the TLS certificate issued by a root of `tlscacerts/` (or,
 * without that folder, as `fabric-ca-client enroll` leaves it, of tls.clientCaBundle), valid now. An O other than
 * mspId is warned of only (OTHER_O).
 * Certificates within 30 days of expiry are warned of; both expiries go to lianxin_certificate_expiry_seconds.
 * @returns the TLS key pair it read (the gRPC API serves with it).
 * @throws NodeStartError `CERTIFICATE_INVALID` naming the field and the folder or file; `KEY_INVALID` as
 * readTlsKeyPair.
 */
export async function checkOwnCertificates(
  config: Pick<NodeConfig, 'mspId' | 'identity' | 'tls'>,
  logger: Logger,
  metrics: Pick<NodeMetrics, 'measureCertificateExpiry'>,
  now = new Date(),
): Promise<TlsKeyPair> {
  const { mspDir } = config.identity;
  const refused = (field: string, subject: string, err: unknown): never => {
    if (!(err instanceof PkiError)) throw err;
    throw new NodeStartError('CERTIFICATE_INVALID', `${field}: ${err.message}`, subject, { cause: err });
  };
  const [identity, roots, nodeOUs] = await Promise.all([
    loadSigningIdentity(mspDir, config.mspId),
    loadMspRootCerts(mspDir),
    loadNodeOUs(mspDir),
  ]).catch((err: unknown) => refused('identity.mspDir', mspDir, err));
  const tls = await readTlsKeyPair(nodeTlsFiles(config.tls));
  const { clientCaBundle } = config.tls;
  const tlsRoots =
    roots.tlsRootCerts.length > 0
      ? { roots: roots.tlsRootCerts, rootsFrom: join(mspDir, 'tlscacerts') }
      : {
          roots: await loadCertificateBundle(clientCaBundle).catch((err: unknown) =>
            refused('tls.clientCaBundle', clientCaBundle, err),
          ),
          rootsFrom: clientCaBundle,
        };
  const own: readonly OwnCertificateCheck[] = [
    {
      name: 'identity',
      field: 'identity.mspDir',
      subject: mspDir,
      certificate: identity.certificate,
      file: join(mspDir, 'signcerts'),
      rules: { roots: roots.rootCerts, rootsFrom: join(mspDir, 'cacerts'), ...(nodeOUs && { nodeOUs }), now },
    },
    {
      name: 'tls',
      field: 'tls.cert',
      subject: config.tls.cert,
      certificate: tls.certificate,
      file: config.tls.cert,
      rules: { ...tlsRoots, now },
    },
  ];
  for (const { name, field, subject, certificate, file, rules } of own) {
    let validTo: Date;
    try {
      validTo = checkMemberCertificate(certificate, file, rules);
    } catch (err) {
      return refused(field, subject, err);
    }
    metrics.measureCertificateExpiry(name, validTo);
    const o = subjectOrganization(certificate);
    if (o !== config.mspId) {
      logger.warn(
        { certificate: name, file, o: o ?? null },
        `${field}: ${file} is issued to O=${o ?? '(none)'}, not to the MSP ID ${config.mspId}: ${OTHER_O[name]}`,
      );
    }
    const days = Math.floor((validTo.getTime() - now.getTime()) / DAY_MS);
    if (days < EXPIRY_WARNING_DAYS) {
      logger.warn(
        { certificate: name, file, validTo: validTo.toISOString(), days },
        `${field}: ${file} expires in ${days} days (${validTo.toISOString()}); on that day the ledger refuses ` +
          "every proposal and other nodes this node's connections: renew it now (README, crypto material)",
      );
    }
  }
  return tls;
}

interface OwnCertificateCheck {
  readonly name: OwnCertificate;
  readonly field: string;
  readonly subject: string;
  readonly certificate: X509Certificate;
  readonly file: string;
  readonly rules: MemberCertificateRules;
}
