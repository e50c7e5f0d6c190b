/**
 * Test material for node/receipts: a small RFC 9162 tree with inclusion proofs, real P-256 keys, CA
 * certificates, registry rows as the chaincode returns them, signed checkpoints and signed attestations.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  formatCheckpointBody,
  formatSignatureLine,
  hashLeaf,
  type NodeRecord,
  type Organization,
  type OrgRole,
  type PublicKeyRecord,
  SUITE_P256,
} from '../../chaincode/src/protocol.ts';
import { sha256, signP256 } from '../../network/crypto/index.ts';
import { issueCertificate, type OrgRootCerts } from '../../network/pki/index.ts';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import type { LogLeaf } from '../api/generated/lianxin/v1/LogLeaf.ts';
import { encodeLogLeaf } from './attestation-codec.ts';
import { normalizeAttestation } from './attestation-codec.ts';
import {
  receiptKeyOf,
  signAttestation,
  signAttestationBatch,
  type AttestationBody,
  type ReceiptKey,
  type UnsignedAttestation,
} from './attestation-signer.ts';
import { buildTrustBundle, type TrustBundleJson } from './trust-bundle.ts';
import { referenceInclusionPath, referenceRoot } from '../../test/support/reference-merkle.ts';

export const CHANNEL = 'lianxin';
export {
  referenceRoot as rootOf,
  referenceInclusionPath as inclusionPath,
} from '../../test/support/reference-merkle.ts';

export interface TestKey extends ReceiptKey {
  readonly publicKey: KeyObject;
  /** Base64 SPKI DER, as the registry stores it. */
  readonly spki: string;
}

export function generateTestKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { ...receiptKeyOf(privateKey), publicKey, spki: der.toString('base64') };
}

/** A C2SP checkpoint signed by `logKey` under the origin's name (key ID = the kid's first 4 bytes). */
export function signCheckpoint(origin: string, size: number, rootHash: Uint8Array, logKey: ReceiptKey): string {
  const body = formatCheckpointBody(origin, BigInt(size), rootHash);
  const signature = signP256(logKey.privateKey, Buffer.from(body, 'utf8'));
  return `${body}\n${formatSignatureLine(origin, Buffer.from(logKey.kid.slice(0, 8), 'hex'), signature)}`;
}

export interface TestOrg {
  readonly mspId: string;
  readonly role: OrgRole;
  readonly origin: string;
  readonly receiptKey: TestKey;
  readonly logKey: TestKey;
}

export async function createTestOrg(
  mspId: string,
  role: OrgRole,
  shard = 'main',
): Promise<TestOrg & { readonly certificates: OrgRootCerts }> {
  const subject = (cn: string) => ({
    commonName: `${cn}.${mspId.toLowerCase()}`,
    organization: mspId,
    locality: 'Hangzhou',
  });
  const [ca, tlsCa] = await Promise.all([
    issueCertificate({ subject: subject('ca'), profile: { kind: 'ca' } }),
    issueCertificate({ subject: subject('tlsca'), profile: { kind: 'ca' } }),
  ]);
  return {
    mspId,
    role,
    origin: `lianxin/${mspId}/${shard}`,
    receiptKey: generateTestKey(),
    logKey: generateTestKey(),
    certificates: { mspId, rootCerts: [ca.certificate], tlsRootCerts: [tlsCa.certificate] },
  };
}

const REGISTERED_AT = '2026-01-01T00:00:00.000Z';

export function organizationRow(org: TestOrg): Organization {
  return {
    mspId: org.mspId,
    name: `${org.mspId} institution`,
    city: 'Hangzhou',
    role: org.role,
    status: 'active',
    registeredAt: REGISTERED_AT,
    updatedAt: REGISTERED_AT,
  };
}

export function keyRow(mspId: string, key: TestKey, role: PublicKeyRecord['role']): PublicKeyRecord {
  return {
    mspId,
    kid: key.kid,
    role,
    suite: SUITE_P256,
    publicKey: key.spki,
    validFrom: REGISTERED_AT,
    validUntil: null,
    status: 'active',
    replacedBy: null,
    registeredAt: REGISTERED_AT,
  };
}

export function nodeRow(org: TestOrg): NodeRecord {
  const shard = org.origin.split('/')[2] ?? 'main';
  return {
    mspId: org.mspId,
    nodeId: 'node-1',
    endpoint: 'localhost:7051',
    peerId: `12D3KooW${'A'.repeat(44)}`,
    addresses: ['/ip4/127.0.0.1/tcp/4001'],
    shard,
    origin: org.origin,
    registeredAt: REGISTERED_AT,
    updatedAt: REGISTERED_AT,
  };
}

/** The bundle a registry with these organisations (each with one receipt and one log key) exports. */
export function bundleOf(
  orgs: readonly (TestOrg & { readonly certificates: OrgRootCerts })[],
  exportedAt = new Date('2026-11-23T00:00:00Z'),
): TrustBundleJson {
  return buildTrustBundle({
    channel: CHANNEL,
    exportedAt,
    organizations: orgs.map(organizationRow),
    keys: orgs.flatMap((org) => [keyRow(org.mspId, org.receiptKey, 'receipt'), keyRow(org.mspId, org.logKey, 'log')]),
    nodes: orgs.map(nodeRow),
    certificates: orgs.map((org) => org.certificates),
  });
}

/** A copy of a bundle changed by `edit`, for tests of what the registry says (windows, status). */
export function editBundle(
  json: TrustBundleJson,
  edit: (draft: Mutable<TrustBundleJson>) => void,
): Mutable<TrustBundleJson> {
  const draft = structuredClone(json) as Mutable<TrustBundleJson>;
  edit(draft);
  return draft;
}

export type Mutable<T> = {
  -readonly [K in keyof T]: T[K] extends readonly (infer U)[]
    ? Mutable<U>[]
    : T[K] extends object
      ? Mutable<T[K]>
      : T[K];
};

export function creditRecordLeaf(org: string, i: number): LogLeaf {
  return {
    version: 1,
    org,
    appendedAtMs: Date.parse('2026-11-20T08:00:00Z') + i,
    nonce: sha256(Buffer.from(`nonce ${i}`)).subarray(0, 16),
    creditRecord: {
      subject: '91330100MA27XK5U3F',
      kind: 'loan',
      recordVersion: i + 1,
      recordDigest: sha256(Buffer.from(`record ${i}`)),
      contentType: 'application/json',
    },
  };
}

export function contractLeaf(org: string, i: number): LogLeaf {
  return {
    version: 1,
    org,
    appendedAtMs: Date.parse('2026-11-20T09:00:00Z') + i,
    nonce: sha256(Buffer.from(`contract nonce ${i}`)).subarray(0, 16),
    contract: {
      documentDigest: sha256(Buffer.from(`purchase contract ${i}`)),
      parties: ['91330100MA27XK5U3F', 'ShanghaiBankMSP'],
      partySignatureDigests: [sha256(Buffer.from(`signature ${i}`))],
      labels: { contract_type: 'purchase' },
    },
  };
}

export const ISSUED_AT_MS = Date.parse('2026-11-23T12:00:00Z');

export interface TestLog {
  readonly org: TestOrg;
  readonly leaves: readonly Uint8Array[];
  readonly leafHashes: readonly Uint8Array[];
  readonly note: string;
  readonly rootHash: Uint8Array;
}

/** An org's log of `size` leaves (credit records unless `leafOf` says otherwise) and its checkpoint at that size. */
export function createTestLog(
  org: TestOrg,
  size: number,
  leafOf: (org: string, i: number) => LogLeaf = creditRecordLeaf,
): TestLog {
  const leaves = Array.from({ length: size }, (_, i) => encodeLogLeaf(leafOf(org.mspId, i)));
  const leafHashes = leaves.map((leaf) => hashLeaf(leaf));
  const rootHash = referenceRoot(leafHashes);
  return { org, leaves, leafHashes, rootHash, note: signCheckpoint(org.origin, size, rootHash, org.logKey) };
}

/** The unsigned attestation of leaf `index` of `log`, anchored. */
export function unsignedAttestation(log: TestLog, index: number): UnsignedAttestation {
  const leaf = log.leaves[index];
  if (leaf === undefined) throw new RangeError(`no leaf ${index}`);
  return {
    leaf,
    inclusion: { leafIndex: index, treeSize: log.leaves.length, hashes: referenceInclusionPath(index, log.leafHashes) },
    checkpoint: { note: log.note, origin: log.org.origin, size: log.leaves.length, rootHash: log.rootHash },
    anchor: { channel: CHANNEL, chaincode: 'lianxin', transactionId: 'a'.repeat(64), blockNumber: 42 },
    state: 'EVIDENCE_STATE_ANCHORED',
    issuedAtMs: ISSUED_AT_MS,
    issuer: log.org.mspId,
  };
}

export function attest(log: TestLog, index: number): Attestation__Output {
  return signAttestation(unsignedAttestation(log, index), log.org.receiptKey);
}

/** Re-signs a changed attestation with the issuer's key: what a malicious or broken node could send. */
export function resigned(
  attestation: Attestation__Output,
  receiptKey: ReceiptKey,
  change: Partial<UnsignedAttestation>,
): Attestation__Output {
  const { format: _format, signature: _signature, ...unsigned } = attestation;
  return signAttestation({ ...unsigned, ...change }, receiptKey);
}

/** `unsigned` with every field present, as the node's builder makes it (the batch signer's input). */
export function bodyOf(unsigned: UnsignedAttestation): AttestationBody {
  const { format: _format, signature: _signature, batch: _batch, ...body } = normalizeAttestation(unsigned);
  return body;
}

/** Attestations (format v2) of leaves `indices` of `log`, signed as one batch by the issuer, in that order. */
export function attestBatch(log: TestLog, indices: readonly number[]): Attestation__Output[] {
  return signAttestationBatch(
    indices.map((index) => bodyOf(unsignedAttestation(log, index))),
    log.org.receiptKey,
  );
}
