/**
 * Who is calling: derived from the TLS client certificate of the connection (node's `tls.PeerCertificate`, read
 * once per connection by ConnectionAdmission, or grpc-js `call.getAuthContext()` for a connection it does not know). The TLS handshake proves the client holds the certificate's key; the
 * server asks for a certificate without letting TLS reject it (see `server.ts`), so the checks that make it a
 * consortium member are made here, and a failure is UNAUTHENTICATED rather than a dropped connection:
 * - issued (directly) by a TLS CA of the consortium bundle whose O is the certificate's O: a CA vouches only
 *   for its own organisation, so one member's TLS CA cannot mint certificates for another MSP;
 * - that CA may issue (CA:TRUE, keyCertSign) and is itself within its validity period now: the shared
 *   network/pki `TrustedCas` check, the same the ledger applies to the creators of proposals;
 * - within its validity period, and for client authentication when it carries an extended key usage.
 * The role is the organisation's (consortium YAML or on-chain registry, via `RoleResolver`), never the
 * certificate's own say: a member's CA could write any `lianxin.role` attribute. TLS certificates from
 * network/pki carry only C, L, O, CN (no NodeOU, no role attribute); when a certificate does carry the
 * Fabric-CA attribute it must agree with the registered role.
 */
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as x509 from '@peculiar/x509';
import {
  FABRIC_ATTRS_OID,
  ROLE_ATTRIBUTE,
  subjectValues,
  TrustedCas,
  type TrustedCa,
  type Consortium,
  type NodeOU,
  type OrgRole,
} from '../../network/pki/index.ts';
import { NodeError } from './errors.ts';

export interface Caller {
  readonly mspId: string;
  /** The organisation's role in the consortium. */
  readonly role: OrgRole;
  readonly commonName: string;
  /** Fabric NodeOU from the subject's OU; TLS certificates from network/pki have none. */
  readonly nodeOU?: NodeOU;
  /** SHA-256 fingerprint of the certificate (colon-separated hex), for logs and audit. */
  readonly fingerprint: string;
}

/** The registered role of an organisation, or undefined when it is not a member. */
export type RoleResolver = (mspId: string) => OrgRole | undefined | Promise<OrgRole | undefined>;

/** Roles as the consortium YAML assigns them. */
export function consortiumRoles(consortium: Pick<Consortium, 'organizations'>): RoleResolver {
  const roles = new Map(consortium.organizations.map((o) => [o.mspId, o.role]));
  return (mspId) => roles.get(mspId);
}

/** TLS CA certificates by the MSP ID in their O. */
export type ClientCaBundle = ReadonlyMap<string, readonly X509Certificate[]>;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Parses the consortium's TLS CA bundle (concatenated PEM). Each CA's O is its MSP ID, as cryptogen and
 * network/pki issue them.
 * @throws NodeError `INVALID_ARGUMENT` (field `tls.clientCaBundle`) for a bundle without CAs or with a non-CA.
 */
export function parseClientCaBundle(pem: string): ClientCaBundle {
  const bundle = new Map<string, X509Certificate[]>();
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  const invalid = (message: string) => new NodeError('INVALID_ARGUMENT', message, { field: 'tls.clientCaBundle' });
  if (blocks.length === 0) throw invalid('the client CA bundle holds no PEM certificate');
  for (const block of blocks) {
    const ca = new X509Certificate(block);
    const mspId = subjectField(ca, 'O');
    if (!ca.ca || mspId === undefined) throw invalid(`${ca.subject.replaceAll('\n', ', ')} is not a CA with an O`);
    bundle.set(mspId, [...(bundle.get(mspId) ?? []), ca]);
  }
  return bundle;
}

export interface CallerAuthenticatorOptions {
  readonly clientCas: ClientCaBundle;
  readonly resolveRole: RoleResolver;
  /** Clock for validity checks (tests). */
  readonly now?: () => Date;
}

/**
 * What a certificate proves once verified; cached by fingerprint. Validity (the certificate's and its CA's)
 * is checked at every call, the role resolved per call.
 */
interface VerifiedCertificate {
  readonly certificate: X509Certificate;
  readonly issuer: TrustedCa;
  readonly cas: TrustedCas;
  readonly mspId: string;
  readonly commonName: string;
  readonly nodeOU?: NodeOU;
  readonly roleAttribute?: string;
  readonly fingerprint: string;
}

/** Clients reconnect with the same certificate; parsing and verifying it once per certificate is enough. */
const CACHE_LIMIT = 10_000;
const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';
const NODE_OUS: readonly string[] = ['client', 'peer', 'admin', 'orderer'] satisfies NodeOU[];

export class CallerAuthenticator {
  readonly #clientCas: ReadonlyMap<string, TrustedCas>;
  readonly #resolveRole: RoleResolver;
  readonly #now: () => Date;
  readonly #verified = new Map<string, VerifiedCertificate>();

  constructor(options: Readonly<CallerAuthenticatorOptions>) {
    this.#clientCas = new Map([...options.clientCas].map(([mspId, cas]) => [mspId, new TrustedCas(cas)]));
    this.#resolveRole = options.resolveRole;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * The caller behind a connection's peer certificate.
   * @throws NodeError `UNAUTHENTICATED` without a valid consortium certificate, `PERMISSION_DENIED` for an
   * organisation that is not a member or a certificate whose role attribute contradicts the registry.
   */
  async authenticate(peer: PeerCertificate | undefined): Promise<Caller> {
    if (peer?.raw === undefined) {
      // None was presented. The gRPC API hands over only a certificate OpenSSL verified against the bundle (an
      // unknown or expired CA's ends up here too); the explorer's endpoint without operations.tls.clientAuthRequired
      // hands over any, self-signed included, so the issuer check in #verify is then the only gate.
      throw new NodeError(
        'UNAUTHENTICATED',
        'a client certificate from a consortium TLS CA is required (none was presented, or its CA is unknown or expired)',
      );
    }
    const cert = this.#verify(peer);
    const valid = cert.cas.checkValidity(cert.certificate, cert.issuer, this.#now());
    if (!valid.ok) {
      const whose = valid.code === 'ISSUER_NOT_VALID' ? `the TLS CA of ${cert.mspId} that issued it` : 'it';
      throw new NodeError(
        'UNAUTHENTICATED',
        `the client certificate of ${cert.mspId} is rejected: ${whose} is expired or not yet valid (${valid.reason})`,
      );
    }
    const role = await this.#resolveRole(cert.mspId);
    if (role === undefined) {
      throw new NodeError('PERMISSION_DENIED', `${cert.mspId} is not a member of the consortium`);
    }
    if (cert.roleAttribute !== undefined && cert.roleAttribute !== role) {
      throw new NodeError(
        'PERMISSION_DENIED',
        `the certificate claims role "${cert.roleAttribute}" but ${cert.mspId} is registered as "${role}"`,
      );
    }
    const { mspId, commonName, nodeOU, fingerprint } = cert;
    return { mspId, role, commonName, fingerprint, ...(nodeOU === undefined ? {} : { nodeOU }) };
  }

  #verify(peer: PeerCertificate): VerifiedCertificate {
    const known = this.#verified.get(peer.fingerprint256);
    if (known) return known;
    const certificate = new X509Certificate(peer.raw);
    const mspId = subjectField(certificate, 'O');
    const unauthenticated = (why: string) => new NodeError('UNAUTHENTICATED', `client certificate rejected: ${why}`);
    if (mspId === undefined) throw unauthenticated('its subject has no O (MSP ID)');
    const cas = this.#clientCas.get(mspId);
    const issuer = cas?.issuerOf(certificate);
    if (cas === undefined || issuer === undefined) {
      throw unauthenticated(`not issued by a TLS CA of ${mspId} in the consortium bundle`);
    }
    if (!issuer.ok) {
      const why = issuer.code === 'ISSUER_NOT_A_CA' ? ' that may issue certificates (CA:TRUE, keyCertSign)' : '';
      throw unauthenticated(`not issued by a TLS CA of ${mspId} in the consortium bundle${why}`);
    }
    const usages = certificate.keyUsage as string[] | undefined;
    if (usages !== undefined && !usages.includes(CLIENT_AUTH_EKU)) {
      throw unauthenticated('its extended key usage does not allow client authentication');
    }
    // Among the OUs (fabric-ca writes the NodeOU and the affiliation's in one multi-valued RDN).
    const nodeOU = subjectValues(certificate, 'OU').find((ou) => NODE_OUS.includes(ou));
    const roleAttribute = fabricAttributes(certificate)[ROLE_ATTRIBUTE];
    const verified: VerifiedCertificate = {
      certificate,
      issuer: issuer.value,
      cas,
      mspId,
      commonName: subjectField(certificate, 'CN') ?? '',
      ...(nodeOU === undefined ? {} : { nodeOU: nodeOU as NodeOU }),
      ...(roleAttribute === undefined ? {} : { roleAttribute }),
      fingerprint: certificate.fingerprint256,
    };
    if (this.#verified.size >= CACHE_LIMIT) this.#verified.clear();
    this.#verified.set(peer.fingerprint256, verified);
    return verified;
  }
}

/** One attribute of the subject; node renders it one `KEY=value` per line. */
function subjectField(certificate: X509Certificate, key: string): string | undefined {
  const prefix = `${key}=`;
  const value = certificate.subject
    .split('\n')
    .find((line) => line.startsWith(prefix))
    ?.slice(prefix.length);
  return value === '' ? undefined : value;
}

/** Fabric-CA attributes: the extension's value is the raw JSON `{"attrs":{...}}` (fabric-ca `lib/attrmgr`). */
function fabricAttributes(certificate: X509Certificate): Readonly<Record<string, string | undefined>> {
  const extension = new x509.X509Certificate(certificate.raw).getExtension(FABRIC_ATTRS_OID);
  if (!extension) return {};
  try {
    const parsed = JSON.parse(Buffer.from(extension.value).toString('utf8')) as { attrs?: unknown };
    const attrs = parsed.attrs;
    return attrs !== null && typeof attrs === 'object' ? (attrs as Record<string, string>) : {};
  } catch {
    return {};
  }
}
