/**
 * The channel's MSPs as Fabric 2.5 checks a creator (msp/mspimpl.go, msp/mspimplvalidate.go): the certificate
 * must chain to one of its MSP's root CAs (a CA that may issue, itself within its validity period: the shared
 * network/pki certificate-chain check the node's API uses too), be within its validity window, carry exactly
 * one NodeOU, and hold a P-256 key; signatures are low-S ECDSA over SHA-256 (bccsp/sw/ecdsa.go).
 */
import { X509Certificate } from 'node:crypto';
import { type common, msp } from '@hyperledger/fabric-protos';
import { readChannelMsps, type ChannelOrg } from '../block/index.ts';
import { verifyP256, verifyP256Async, type VerifyResult } from '../../crypto/index.ts';
import { subjectValues, TrustedCas, type TrustedCa } from '../../pki/index.ts';
import type { Identity, IdentityCheck, IdentityVerifier, ValidityTime } from '../types.ts';
import { identityCacheKey } from './identity-key.ts';

export interface ChannelMspConfig {
  readonly mspId: string;
  readonly rootCerts: readonly X509Certificate[];
}

const NODE_OUS = new Set(['client', 'peer', 'admin', 'orderer']);

/** Parsed certificates are cached by their serialized identity: parsing X.509 costs far more than the signature. */
const MAX_CACHED_IDENTITIES = 10_000;

/** A deserialized creator and the root CA that issued it (its validity is checked at every use). */
interface IssuedIdentity {
  readonly identity: Identity;
  readonly issuer: TrustedCa;
  readonly roots: TrustedCas;
}

/** What the bytes of one serialized identity gave: the identity, or why it is refused. */
interface CachedIdentity {
  /** A copy of the serialized identity: an entry is used only for these exact bytes. */
  readonly bytes: Buffer;
  readonly result: IssuedIdentity | string;
}

export interface ChannelMspsOptions {
  /**
   * Where verifySignatureAsync() runs the curve check. On the event loop (default) it costs the least CPU per
   * signature; on libuv's thread pool (node:crypto's callback form) it costs 8–12 µs more CPU per verify (job
   * hand-off, copies, wake-up: 69.7–78.8 against 60.6–72.6 µs, 2 KB messages, 16 in flight, one sitting), but
   * frees the event loop while it runs, which buys rate only when a core would otherwise be idle. Issue 13 states
   * the ledger's target in CPU per transaction (three verifies per submit), on a machine whose cores the load
   * generator shares: hence the event loop.
   */
  readonly verifyOnThreadPool?: boolean;
}

export class ChannelMsps implements IdentityVerifier {
  #roots: ReadonlyMap<string, TrustedCas>;
  readonly #cache = new Map<string, CachedIdentity>();
  readonly #verifyOnThreadPool: boolean;

  constructor(msps: readonly ChannelMspConfig[], options: Readonly<ChannelMspsOptions> = {}) {
    this.#roots = new Map(msps.map((m) => [m.mspId, new TrustedCas(m.rootCerts)]));
    this.#verifyOnThreadPool = options.verifyOnThreadPool ?? false;
  }

  /**
   * Replaces the channel's MSPs, as a committed config block does: from the next call on, a new organisation's
   * identities are accepted and a removed one's refused (every cached identity and signature is forgotten).
   */
  reconfigure(msps: readonly ChannelMspConfig[]): void {
    this.#roots = new Map(msps.map((m) => [m.mspId, new TrustedCas(m.rootCerts)]));
    this.#cache.clear();
  }

  get mspIds(): string[] {
    return [...this.#roots.keys()];
  }

  hasMsp(mspId: string): boolean {
    return this.#roots.has(mspId);
  }

  validate(serializedIdentity: Uint8Array, at: ValidityTime = new Date()): IdentityCheck {
    const check = this.#validate(serializedIdentity, at);
    return check.ok ? { ok: true, identity: check.entry.identity } : check;
  }

  #validate(
    serializedIdentity: Uint8Array,
    at: ValidityTime = new Date(),
  ): { readonly ok: true; readonly entry: IssuedIdentity } | { readonly ok: false; readonly reason: string } {
    const bytes = Buffer.from(serializedIdentity.buffer, serializedIdentity.byteOffset, serializedIdentity.byteLength);
    // Five lookups per transaction: keyed by the identity's last bytes, the entry used only when its copy is equal.
    const cacheKey = identityCacheKey(bytes);
    let cached = this.#cache.get(cacheKey);
    if (!cached?.bytes.equals(bytes)) {
      // Deserialized from the entry's own copy: the identity it keeps then holds ≈ 850 bytes, not the whole
      // envelope or block the caller's view is into, for as long as the entry lives.
      const copy = Buffer.from(bytes);
      cached = { bytes: copy, result: this.#deserialize(copy) };
      if (this.#cache.size >= MAX_CACHED_IDENTITIES) this.#cache.clear();
      this.#cache.set(cacheKey, cached);
    }
    const entry = cached.result;
    if (typeof entry === 'string') return { ok: false, reason: entry };
    const { certificate } = entry.identity;
    const when = at === 'issuance' ? new Date(certificate.validFromDate.getTime() + 1000) : at;
    const valid = entry.roots.checkValidity(certificate, entry.issuer, when);
    if (!valid.ok) return { ok: false, reason: `the supplied identity is not valid: ${valid.reason}` };
    return { ok: true, entry };
  }

  verifySignature(
    serializedIdentity: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    at?: ValidityTime,
  ): IdentityCheck {
    const valid = this.#validate(serializedIdentity, at);
    if (!valid.ok) return valid;
    // No memo of verified signatures: the committer does not verify again what admission verified, nor the
    // ledger's own endorsements (DecodedEnvelope.creatorSignatureVerified, EndorsedAction.signedHere), and a memo
    // key hashed every message once more, megabytes for a large anchor.
    const check: IdentityCheck = { ok: true, identity: valid.entry.identity };
    return outcome(check, verifyP256(check.identity.publicKey, message, signature));
  }

  async verifySignatureAsync(
    serializedIdentity: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    at?: ValidityTime,
  ): Promise<IdentityCheck> {
    const valid = this.#validate(serializedIdentity, at);
    if (!valid.ok) return valid;
    const check: IdentityCheck = { ok: true, identity: valid.entry.identity };
    if (!this.#verifyOnThreadPool) return outcome(check, verifyP256(check.identity.publicKey, message, signature));
    // A reconfigure() meanwhile does not matter: whether a signature verifies under a key is no channel fact.
    return outcome(check, await verifyP256Async(check.identity.publicKey, message, signature));
  }

  /** Returns the identity and its issuer, or the reason it is refused. `bytes` is attacker-controlled. */
  #deserialize(bytes: Uint8Array): IssuedIdentity | string {
    let sid: msp.SerializedIdentity;
    try {
      sid = msp.SerializedIdentity.deserializeBinary(bytes);
    } catch {
      return 'could not deserialize a SerializedIdentity';
    }
    const mspId = sid.getMspid();
    const roots = this.#roots.get(mspId);
    if (!roots) return `creator org unknown: MSP ${JSON.stringify(mspId)} is not a member of the channel`;
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(Buffer.from(sid.getIdBytes_asU8()));
    } catch {
      return 'could not deserialize the identity: id_bytes is not an X.509 certificate';
    }
    const issuer = roots.issuerOf(certificate);
    if (!issuer.ok) return `the supplied identity is not valid: ${issuer.reason}`;
    const publicKey = certificate.publicKey;
    if (publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      return 'the supplied identity is not valid: only ECDSA P-256 keys are accepted';
    }
    const ous = organizationalUnits(certificate).filter((ou) => NODE_OUS.has(ou));
    const [nodeOU] = ous;
    if (ous.length !== 1 || nodeOU === undefined) {
      return `the supplied identity is not valid: expected exactly one NodeOU (client, peer, admin, orderer), found ${ous.length}`;
    }
    const identity: Identity = {
      mspId,
      certificate,
      publicKey,
      nodeOU: nodeOU as Identity['nodeOU'],
      serialized: bytes,
    };
    return { identity, issuer: issuer.value, roots };
  }
}

function outcome(check: IdentityCheck, result: VerifyResult): IdentityCheck {
  if (!result.ok) {
    return { ok: false, reason: `the creator's signature over the proposal is not valid: ${result.reason}` };
  }
  return check;
}

/**
 * The OU values of the certificate's subject, those of a multi-valued RDN included: fabric-ca (Go) writes a NodeOU and
 * the affiliation's OUs as one (`OU=client + OU=org1` on one line of node's rendering), which a line-by-line read took
 * for no NodeOU at all.
 */
export function organizationalUnits(certificate: X509Certificate): string[] {
  return subjectValues(certificate, 'OU');
}

/** The channel MSPs named by a config block (application and orderer organisations, once each). */
export function channelMspsOfConfigBlock(block: common.Block): ChannelMsps {
  return new ChannelMsps(channelMspConfigs(readChannelMsps(block)));
}

/** MSP configs of a channel config's organisations (each MSP ID once), certificates parsed. */
export function channelMspConfigs(msps: readonly ChannelOrg[]): ChannelMspConfig[] {
  const roots = new Map(msps.map((m) => [m.mspId, m.rootCerts]));
  return [...roots].map(([mspId, pems]) => ({ mspId, rootCerts: pems.map((pem) => new X509Certificate(pem)) }));
}
