/**
 * The consortium registry as the p2p layer needs it: which peer IDs belong to registered, active institutions
 * (the connection gater), where an institution's nodes listen (dialling), and which receipt key an institution
 * had at a given time (exchange signatures). A snapshot of the chain's registry, replaced whole when the node
 * sees a registry change on chain: lookups are synchronous map reads, because the gater runs on every
 * connection and the provider on every request.
 *
 * Keys follow the chain's rules (chaincode/src/registry.ts, DESIGN §3; `keySignsAt`, the verifier core's): a key
 * signs inside its window; a rotated key's window closed at rotation, a revoked key (presumed compromised) is
 * refused for times after revocation.
 */
import type { KeyObject } from 'node:crypto';
import { parseP256Spki } from '../../chaincode/src/protocol.ts';
import type { LianxinChain, Organization, RegistrySnapshot } from '../ledger/index.ts';
import { keySignsAt } from '../verifier/access-bundle-verifier.ts';

export interface RegisteredPeer {
  readonly mspId: string;
  readonly nodeId: string;
  readonly peerId: string;
  /** libp2p multiaddrs the node registered (`/ip4/…/tcp/…`), without the `/p2p/<id>` suffix. */
  readonly addresses: readonly string[];
}

/** What the p2p layer asks of the registry; `RegistryView` answers from a chain snapshot. */
export interface PeerRegistry {
  /** The node registered under `peerId` if its institution is registered and active, else undefined. */
  activePeer(peerId: string): RegisteredPeer | undefined;
  /** The registered nodes of an active institution (empty when unknown or suspended). */
  peersOf(mspId: string): readonly RegisteredPeer[];
  organization(mspId: string): Pick<Organization, 'mspId' | 'role' | 'status'> | undefined;
  /** The public `receipt` key `kid` of `mspId` if it was valid for signing at `atMs`. */
  receiptKey(mspId: string, kid: string, atMs: number): KeyObject | undefined;
}

interface KeyEntry {
  readonly publicKey: KeyObject;
  readonly validFromMs: number;
  readonly validUntilMs: number | null;
}

/** A registry snapshot indexed for the lookups above. `replace` swaps in a newer snapshot atomically. */
export class RegistryView implements PeerRegistry {
  #organizations = new Map<string, Pick<Organization, 'mspId' | 'role' | 'status'>>();
  #peers = new Map<string, RegisteredPeer>();
  #peersByOrg = new Map<string, RegisteredPeer[]>();
  #keys = new Map<string, KeyEntry>();

  constructor(snapshot: RegistrySnapshot) {
    this.replace(snapshot);
  }

  replace(snapshot: RegistrySnapshot): void {
    const organizations = new Map(snapshot.organizations.map((org) => [org.mspId, org] as const));
    const peers = new Map<string, RegisteredPeer>();
    const peersByOrg = new Map<string, RegisteredPeer[]>();
    for (const node of snapshot.nodes) {
      const peer: RegisteredPeer = {
        mspId: node.mspId,
        nodeId: node.nodeId,
        peerId: node.peerId,
        addresses: [...node.addresses],
      };
      peers.set(node.peerId, peer);
      peersByOrg.set(node.mspId, [...(peersByOrg.get(node.mspId) ?? []), peer]);
    }
    const keys = new Map<string, KeyEntry>();
    for (const key of snapshot.keys) {
      if (key.role !== 'receipt') continue;
      const publicKey = parseP256Spki(Buffer.from(key.publicKey, 'base64'));
      // The chain checked the SPKI at registration; a key that does not parse here verifies nothing.
      if (publicKey === undefined) continue;
      keys.set(`${key.mspId}/${key.kid}`, {
        publicKey,
        validFromMs: Date.parse(key.validFrom),
        validUntilMs: key.validUntil === null ? null : Date.parse(key.validUntil),
      });
    }
    this.#organizations = organizations;
    this.#peers = peers;
    this.#peersByOrg = peersByOrg;
    this.#keys = keys;
  }

  activePeer(peerId: string): RegisteredPeer | undefined {
    const peer = this.#peers.get(peerId);
    return peer !== undefined && this.#organizations.get(peer.mspId)?.status === 'active' ? peer : undefined;
  }

  peersOf(mspId: string): readonly RegisteredPeer[] {
    return this.#organizations.get(mspId)?.status === 'active' ? (this.#peersByOrg.get(mspId) ?? []) : [];
  }

  organization(mspId: string): Pick<Organization, 'mspId' | 'role' | 'status'> | undefined {
    return this.#organizations.get(mspId);
  }

  receiptKey(mspId: string, kid: string, atMs: number): KeyObject | undefined {
    const key = this.#keys.get(`${mspId}/${kid}`);
    return key !== undefined && keySignsAt(key, atMs) ? key.publicKey : undefined;
  }
}

/** Reads the whole registry from the chain into a new view (the node calls `view.replace` on registry events). */
export async function loadRegistryView(chain: Pick<LianxinChain, 'registrySnapshot'>): Promise<RegistryView> {
  return new RegistryView(await chain.registrySnapshot());
}

/**
 * Replaces `view` with a fresh read of the registry, one read at a time: a refresh asked while a read is under way
 * runs once after it, for every caller that asked meanwhile, and each caller's promise settles with a read begun
 * after it asked. Overlapping reads may finish out of order, and an older one applied last would drop a suspension
 * or a key revocation with nothing to correct it (review29 S4).
 */
export function registryRefresher(
  view: Pick<RegistryView, 'replace'>,
  read: () => Promise<RegistrySnapshot>,
): () => Promise<void> {
  let current: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const refresh = read().then((snapshot) => {
      view.replace(snapshot);
    });
    current = refresh;
    const done = () => {
      if (current === refresh) current = undefined;
    };
    refresh.then(done, done);
    return refresh;
  };
  return () => {
    if (next !== undefined) return next;
    if (current === undefined) return start();
    next = current
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}
