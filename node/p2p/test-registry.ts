/**
 * Test support for node/p2p: libp2p identities and registry snapshots of typed rows, for the unit tests of the
 * host and the exchange (the cross-component tests in test/ read the registry from the chain instead).
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { NodeRecord, Organization, PublicKeyRecord, RegistrySnapshot } from '../ledger/index.ts';
import { SUITE_P256 } from '../../chaincode/src/protocol.ts';
import { receiptKeyOf, type ReceiptKey } from '../receipts/index.ts';

export interface TestPeer {
  readonly mspId: string;
  readonly privateKey: PrivateKey;
  readonly peerId: string;
}

export async function testPeer(mspId: string): Promise<TestPeer> {
  const privateKey = await generateKeyPair('Ed25519');
  return { mspId, privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}

/** A fresh P-256 receipt key, as a node's `keys.receipt`. */
export const newReceiptKey = (): ReceiptKey =>
  receiptKeyOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

/** A receipt key's public half as the registry holds it: base64 SPKI DER. */
export const spkiOf = (key: ReceiptKey): string =>
  createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' }).toString('base64');

const AT = '2026-01-01T00:00:00.000Z';

export interface SnapshotMember {
  readonly mspId: string;
  readonly peerId: string;
  /** The node's registered multiaddrs. */
  readonly addresses?: readonly string[];
  readonly status?: Organization['status'];
  readonly role?: Organization['role'];
  /** Receipt keys: base64 SPKI and kid, with an optional window. */
  readonly receiptKeys?: readonly { spki: string; kid: string; validFrom?: string; validUntil?: string | null }[];
}

export function snapshotOf(members: readonly SnapshotMember[]): RegistrySnapshot {
  return {
    organizations: members.map((m): Organization => ({
      mspId: m.mspId,
      name: m.mspId,
      city: 'Shanghai',
      role: m.role ?? 'bank',
      status: m.status ?? 'active',
      registeredAt: AT,
      updatedAt: AT,
    })),
    nodes: members.map((m): NodeRecord => ({
      mspId: m.mspId,
      nodeId: 'node0',
      endpoint: 'localhost:7051',
      peerId: m.peerId,
      addresses: [...(m.addresses ?? [])],
      shard: '0',
      origin: `lianxin/${m.mspId}/0`,
      registeredAt: AT,
      updatedAt: AT,
    })),
    keys: members.flatMap((m) =>
      (m.receiptKeys ?? []).map((k): PublicKeyRecord => ({
        mspId: m.mspId,
        kid: k.kid,
        role: 'receipt',
        suite: SUITE_P256,
        publicKey: k.spki,
        validFrom: k.validFrom ?? AT,
        validUntil: k.validUntil ?? null,
        status: 'active',
        replacedBy: null,
        registeredAt: AT,
      })),
    ),
  };
}
