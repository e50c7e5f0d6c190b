/**
 * Writes a consortium's crypto material in Fabric's MSP layout (see `msp-paths.ts`). Idempotent: a re-run keeps
 * every existing key and certificate and creates only what is missing, so adding an organisation to the YAML
 * and re-running issues just that organisation. An expired leaf is reissued from its kept CA with its own key.
 * `force` reissues every leaf from the kept CAs, each for its kept key; only `regenerateCas` replaces the CAs
 * themselves (new roots). A leaf gets a new key only where its key file was removed.
 */
import type { KeyObject } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { removeAbandoned, writeDurably } from '../fs/index.ts';
import { BACKDATE_MS, ROLE_ATTRIBUTE } from './constants.ts';
import {
  issueCertificate,
  type CertificateAuthority,
  type CertificateProfile,
  type IssuedCertificate,
  type SubjectName,
} from './cert-issuer.ts';
import type { Consortium, NodeOU, OrgNode, Organization } from './consortium-config.ts';
import { PkiError } from './errors.ts';
import { orgPaths, type CaPaths, type IdentityPaths, type MspPaths } from './msp-paths.ts';
import { parseKeyPair, parsePrivateKey, readIfExists, readKeyIfExists } from './pem-files.ts';

export interface GenerateOptions {
  /**
   * Reissue every leaf's certificate (users', nodes') from the kept CAs for its kept key; a leaf whose key file is
   * gone gets a new key (an orderer's TLS key: only once the channel's consenter set has its new certificate).
   */
  readonly force?: boolean;
  /**
   * Replace the CAs too, and so reissue every leaf as `force` does: new roots, which match neither the channel's MSP
   * configuration nor the trust bundles handed out (`npm run crypto -- --regenerate-cas`).
   */
  readonly regenerateCas?: boolean;
  /** Issue time (tests); default the current time. */
  readonly now?: Date;
}

/** Files relative to the output directory, in the order they were considered. */
export interface GenerationReport {
  readonly created: string[];
  readonly kept: string[];
  /** Leaf certificates issued anew from their kept CA for their kept key: expired, or every leaf under `force`. */
  readonly reissued: string[];
}

/** What a run did, for every command that runs one: "N files created, M reissued (keys kept), K kept". */
export const describeGeneration = (report: GenerationReport): string =>
  `${String(report.created.length)} files created, ${String(report.reissued.length)} reissued (keys kept), ` +
  `${String(report.kept.length)} kept`;

/** Fabric's NodeOUs file as cryptogen writes it (`internal/cryptogen/msp/generator.go` exportConfig). */
const NODE_OUS_CONFIG = `NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: orderer
`;

const KEY_MODE = 0o600;
const CERT_MODE = 0o644;
const KEYSTORE_MODE = 0o700;

/**
 * Issues (or keeps) every organisation's signing CA, TLS CA, users and nodes under `outDir`.
 * @throws PkiError `MATERIAL_INCONSISTENT` when what is on disk does not fit together (rerun with `force`, or
 * `regenerateCas` for a CA: the message says which).
 */
export async function generateCryptoMaterial(
  consortium: Consortium,
  outDir: string,
  options: GenerateOptions = {},
): Promise<GenerationReport> {
  const writer = new MaterialWriter(outDir, options);
  for (const org of consortium.organizations) await writer.organization(org);
  return writer.report;
}

/** Users named Admin administer their organisation (Fabric's admin NodeOU); the rest are clients. */
export function nodeOUOfUser(user: string): NodeOU {
  return user === 'Admin' ? 'admin' : 'client';
}

export function nodeOUOfNode(node: Pick<OrgNode, 'type'>): NodeOU {
  return node.type === 'orderer' ? 'orderer' : 'peer';
}

interface OrgContext {
  readonly org: Organization;
  readonly ca: CertificateAuthority;
  readonly tlsca: CertificateAuthority;
}

interface Member {
  readonly paths: IdentityPaths;
  /** CN of the signing certificate and `hf.EnrollmentID`. */
  readonly name: string;
  readonly nodeOU: NodeOU;
  readonly tls: { readonly commonName: string; readonly profile: CertificateProfile };
}

interface KeyPairFiles {
  readonly cert: string;
  readonly key: string;
}

class MaterialWriter {
  readonly report: GenerationReport = { created: [], kept: [], reissued: [] };
  readonly #outDir: string;
  readonly #force: boolean;
  readonly #regenerateCas: boolean;
  readonly #now: Date;
  readonly #notBefore: Date;

  constructor(outDir: string, options: GenerateOptions) {
    this.#outDir = outDir;
    this.#regenerateCas = options.regenerateCas ?? false;
    this.#force = this.#regenerateCas || (options.force ?? false);
    this.#now = options.now ?? new Date();
    this.#notBefore = new Date(this.#now.getTime() - BACKDATE_MS);
  }

  async organization(org: Organization): Promise<void> {
    const paths = orgPaths(this.#outDir, org.mspId);
    const caSubject = (commonName: string) => ({ commonName, organization: org.mspId, locality: org.city });
    const ctx: OrgContext = {
      org,
      ca: await this.#authority(paths.ca, caSubject(`ca.${org.domain}`)),
      tlsca: await this.#authority(paths.tlsca, caSubject(`tlsca.${org.domain}`)),
    };
    await this.#mspFolder(paths.msp, ctx);

    for (const user of org.users) {
      const tls = { commonName: user, profile: { kind: 'tls-client' } } as const;
      await this.#member(ctx, { paths: paths.user(user), name: user, nodeOU: nodeOUOfUser(user), tls });
    }
    for (const node of org.nodes) {
      const profile = { kind: 'tls-server', dnsNames: [node.host, 'localhost'], ipAddresses: ['127.0.0.1'] } as const;
      const tls = { commonName: node.host, profile };
      await this.#member(ctx, { paths: paths.node(node), name: node.name, nodeOU: nodeOUOfNode(node), tls });
    }
  }

  async #authority(files: CaPaths, subject: SubjectName): Promise<CertificateAuthority> {
    return this.#keyPair(files, undefined, () =>
      issueCertificate({ subject, profile: { kind: 'ca' }, notBefore: this.#notBefore }),
    );
  }

  async #mspFolder(msp: MspPaths, { ca, tlsca }: OrgContext): Promise<void> {
    await this.#file(msp.cacert, ca.certificate.toString(), CERT_MODE);
    await this.#file(msp.tlscacert, tlsca.certificate.toString(), CERT_MODE);
    await this.#file(msp.config, NODE_OUS_CONFIG, CERT_MODE);
  }

  /** A user's or node's local MSP (signing identity from the CA) and TLS key pair (from the TLS CA). */
  async #member(ctx: OrgContext, member: Member): Promise<void> {
    const { org, ca, tlsca } = ctx;
    const { paths, name, nodeOU, tls } = member;
    const subject = { commonName: name, organization: org.mspId, locality: org.city };
    // Attribute names follow fabric-ca (`lib/attrmgr`): hf.* are the ones fabric-ca itself adds to every cert.
    const attrs = { [ROLE_ATTRIBUTE]: org.role, 'hf.EnrollmentID': name, 'hf.Type': nodeOU };
    await this.#mspFolder(paths.msp, ctx);
    await this.#keyPair({ cert: paths.msp.signcert, key: paths.msp.key }, ca, (privateKey) =>
      issueCertificate({
        subject,
        profile: { kind: 'identity', nodeOU, attrs },
        issuer: ca,
        notBefore: this.#notBefore,
        ...(privateKey && { privateKey }),
      }),
    );
    await chmod(paths.msp.keystore, KEYSTORE_MODE);

    await this.#file(paths.tls.ca, tlsca.certificate.toString(), CERT_MODE);
    await this.#keyPair({ cert: paths.tls.cert, key: paths.tls.key }, tlsca, (privateKey) =>
      issueCertificate({
        subject: { ...subject, commonName: tls.commonName },
        profile: tls.profile,
        issuer: tlsca,
        notBefore: this.#notBefore,
        ...(privateKey && { privateKey }),
      }),
    );
  }

  /**
   * Keeps an existing certificate and key when they belong together and to `issuer` (self-signed when absent),
   * otherwise issues a new pair; an expired leaf is issued anew for its key. Half a pair on disk is an error:
   * silently replacing the other half would orphan certificates already handed out. Under `force` a leaf is issued
   * anew for its kept key whatever its certificate was, and a new key only where its key file is gone: a new key
   * for orderer0's TLS certificate, the channel's only Raft consenter, would halt the channel for good (Fabric
   * accepts a consenter's renewed certificate only for the same public key, FAB-18171). The CAs (no `issuer`) are
   * read from disk under `force`, and replaced only under `regenerateCas`.
   */
  async #keyPair(
    files: KeyPairFiles,
    issuer: CertificateAuthority | undefined,
    issue: (privateKey?: KeyObject) => Promise<IssuedCertificate>,
  ): Promise<CertificateAuthority> {
    if (issuer === undefined && this.#regenerateCas) return this.#issueNew(files, issue);
    const keyPem = await readKeyIfExists(files.key);
    if (issuer !== undefined && this.#force) {
      if (keyPem === undefined) return this.#issueNew(files, issue);
      return this.#reissue(files, this.#p256(parsePrivateKey(keyPem, files.key), files.key, issuer), issue);
    }
    const certPem = await readIfExists(files.cert);
    if (certPem !== undefined && keyPem !== undefined) {
      const existing = parseKeyPair(certPem, files.cert, keyPem, files.key);
      const signer = issuer?.certificate ?? existing.certificate;
      if (!existing.certificate.checkIssued(signer) || !existing.certificate.verify(signer.publicKey)) {
        throw this.#inconsistent(files.cert, `is not issued by ${issuer ? 'its CA' : 'itself'}`, issuer);
      }
      this.#p256(existing.privateKey, files.key, issuer);
      if (existing.certificate.validToDate.getTime() <= this.#now.getTime()) {
        // Kept, an expired CA would go on issuing certificates no peer accepts; replacing it is a new root.
        if (issuer === undefined) {
          throw this.#inconsistent(files.cert, `expired on ${existing.certificate.validTo}`, issuer);
        }
        // A leaf: its kept CA issues it anew for the same key, nothing else on disk changes.
        return this.#reissue(files, existing.privateKey, issue);
      }
      await this.#kept(files.cert, files.key);
      return existing;
    }
    if (keyPem !== undefined) {
      // The key is written first: a key without its certificate is a run interrupted between them, never handed out.
      throw new PkiError(
        'MATERIAL_INCONSISTENT',
        `${this.#relative(files.key)} exists but ${this.#relative(files.cert)} does not: a run was interrupted ` +
          `between them; remove ${files.key} and run again`,
        files.key,
      );
    }
    if (certPem !== undefined) {
      throw this.#inconsistent(files.cert, `exists but ${this.#relative(files.key)} does not`, issuer);
    }
    return this.#issueNew(files, issue);
  }

  /** Kept, a key of another curve would fail when it signs, without naming its file. */
  #p256(privateKey: KeyObject, file: string, issuer: CertificateAuthority | undefined): KeyObject {
    if (privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      const problem = 'is not an ECDSA P-256 key (the Fabric 2.5 suite)';
      // A leaf's key is replaced only where its file is gone (#keyPair).
      if (issuer !== undefined) {
        throw new PkiError(
          'MATERIAL_INCONSISTENT',
          `${this.#relative(file)} ${problem}; remove ${file} and rerun with --force to issue it a new key`,
          file,
        );
      }
      throw this.#inconsistent(file, problem, issuer);
    }
    return privateKey;
  }

  /** The certificate issued anew for the kept key, which stays as it is. */
  async #reissue(
    files: KeyPairFiles,
    privateKey: KeyObject,
    issue: (privateKey: KeyObject) => Promise<IssuedCertificate>,
  ): Promise<IssuedCertificate> {
    const reissued = await issue(privateKey);
    await this.#write(files.cert, reissued.certificatePem, CERT_MODE, true);
    this.report.reissued.push(this.#relative(files.cert));
    await this.#kept(files.key);
    return reissued;
  }

  /** A new key and its certificate, the key written first (a key alone is a run interrupted between them). */
  async #issueNew(files: KeyPairFiles, issue: () => Promise<IssuedCertificate>): Promise<IssuedCertificate> {
    const issued = await issue();
    await this.#write(files.key, issued.privateKeyPem, KEY_MODE);
    await this.#write(files.cert, issued.certificatePem, CERT_MODE);
    return issued;
  }

  /** A file whose content follows from others (CA copies, config.yaml): written when missing, checked when not. */
  async #file(path: string, content: string, mode: number): Promise<void> {
    const existing = this.#force ? undefined : await readIfExists(path);
    if (existing === undefined) {
      await this.#write(path, content, mode);
    } else if (existing === content) {
      await this.#kept(path);
    } else {
      throw new PkiError(
        'MATERIAL_INCONSISTENT',
        `${this.#relative(path)} differs from the material it should copy; rerun with --force to write it anew`,
        path,
      );
    }
  }

  /**
   * Written whole beside `path` with its mode and synced, then put in place and the folder synced: a crash or a
   * power loss leaves the old file or the new, never half of one, and a CA key replaced with --regenerate-cas is never
   * readable under the old file's mode.
   */
  async #write(path: string, content: string, mode: number, reissue = false): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await removeAbandoned(path, { formerNames: true });
    // Never replacing a file that appeared since we looked; force and a reissue replace on purpose.
    await writeDurably(path, (handle) => handle.writeFile(content), { mode, replace: this.#force || reissue });
    if (!reissue) this.report.created.push(this.#relative(path));
  }

  /**
   * A kept file's temporary files that a crashed run left go, under either name the generator gave them: Fabric would
   * read a whole one in cacerts/ as a root.
   */
  async #kept(...paths: string[]): Promise<void> {
    await Promise.all(paths.map((path) => removeAbandoned(path, { formerNames: true })));
    this.report.kept.push(...paths.map((p) => this.#relative(p)));
  }

  #relative(path: string): string {
    return relative(this.#outDir, path).split(sep).join('/');
  }

  /** What is wrong with a CA's files (no `issuer`) or a leaf's, and the flag that replaces them. */
  #inconsistent(path: string, problem: string, issuer: CertificateAuthority | undefined): PkiError {
    const remedy =
      issuer === undefined
        ? 'rerun with --regenerate-cas to issue new CAs: NEW ROOTS, which the channel and every trust bundle ' +
          'must then be given (README, crypto material)'
        : 'rerun with --force to reissue the leaves from the kept CAs, each for its kept key (a leaf whose key file ' +
          'is gone gets a new key)';
    return new PkiError('MATERIAL_INCONSISTENT', `${this.#relative(path)} ${problem}; ${remedy}`, path);
  }
}
