/**
 * Puts an institution on the chain's registry, idempotently: the operator's admin registers organisations
 * (its own first, which bootstraps an empty registry), each organisation's admin registers its node and the
 * node's log and receipt keys. Run again, it registers only what is missing.
 */
import { sha256Hex } from '../../network/crypto/index.ts';
import type { Organization as ConsortiumOrg, OrgNode } from '../../network/pki/index.ts';
import type { LianxinChain, NodeRecord } from '../ledger/index.ts';
import { dialMultiaddr } from '../p2p/listen-address.ts';
import type { NodeKeys } from './node-keys.ts';

/** The chain as one organisation's admin. */
export type AdminChain = (mspId: string) => Promise<LianxinChain>;

const SUITE = 'ecdsa-p256-sha256';

/** Registers every organisation of the consortium that the registry lacks, operator first. */
export async function registerOrganizations(asAdmin: AdminChain, orgs: readonly ConsortiumOrg[]): Promise<string[]> {
  const operator = orgs.find((o) => o.role === 'operator');
  if (!operator) throw new Error('the consortium has no operator organisation to run the registry');
  const chain = await asAdmin(operator.mspId);
  // An empty registry lists nothing; any member may list it once it has organisations.
  const known = new Set((await chain.listOrganizations()).map((o) => o.mspId));
  const registered: string[] = [];
  for (const org of [operator, ...orgs.filter((o) => o !== operator)]) {
    if (known.has(org.mspId)) continue;
    await chain.registerOrganization(org.mspId, org.name, org.city, org.role);
    registered.push(org.mspId);
  }
  return registered;
}

export interface NodeRegistration {
  readonly mspId: string;
  readonly node: OrgNode;
  readonly shard: string;
  readonly keys: NodeKeys;
  /** IP:port the node's libp2p host listens on; default the consortium entry's p2p port on 127.0.0.1. */
  readonly p2pListen?: string;
}

/** Why a node's registration was refused: its record on chain names another p2p identity than its key file's. */
export class NodeRegistrationError extends Error {
  override readonly name = 'NodeRegistrationError';
  constructor(
    /** PEER_ID_DIFFERS: keys.p2p is not the key the registry lists for the node. */
    readonly code: 'PEER_ID_DIFFERS',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The organisation's admin registers its node (owning its log origin) and the node's keys, if missing. A node
 * registered already is brought in step with where it is now (UpdateNode): its endpoint and p2p addresses follow the
 * consortium entry and node.yaml, or other nodes would dial where it no longer listens. Its peer ID never changes
 * here: a key file whose peer ID is not the registered one was lost and created afresh, restored from another
 * backup or copied from another node — each for its operator to look into, not to register silently.
 * @throws NodeRegistrationError `PEER_ID_DIFFERS`, before anything is written on chain.
 */
export async function registerNode(asAdmin: AdminChain, registration: NodeRegistration): Promise<string[]> {
  const { mspId, node, shard, keys } = registration;
  const p2pListen =
    registration.p2pListen ?? (node.ports.p2p === undefined ? undefined : `127.0.0.1:${String(node.ports.p2p)}`);
  const wanted = {
    nodeId: node.name,
    endpoint: `${node.host}:${node.ports.grpc}`,
    peerId: keys.peerId,
    // A wildcard listen address is dialled at the node's host of the consortium entry.
    addresses: p2pListen === undefined ? [] : [dialMultiaddr(p2pListen, node.host)],
  };
  const chain = await asAdmin(mspId);
  const done: string[] = [];
  const registered = (await chain.listNodes(mspId)).find((n) => n.nodeId === node.name);
  if (registered === undefined) {
    await chain.registerNode({ ...wanted, shard });
    done.push(`node ${node.name}`);
  } else {
    const changed = changedFields(registered, wanted, keys.files.p2p);
    if (changed.length > 0) {
      await chain.updateNode(wanted);
      done.push(`node ${node.name}'s ${changed.join(' and ')}`);
    }
  }
  const known = new Set((await chain.listKeys(mspId)).map((k) => k.kid));
  for (const [role, spki] of [
    ['log', keys.logSpki],
    ['receipt', keys.receiptSpki],
  ] as const) {
    if (known.has(sha256Hex(Buffer.from(spki, 'base64')))) continue;
    await chain.registerKey({ spki, role, suite: SUITE });
    done.push(`${role} key`);
  }
  return done;
}

type NodeLocation = Pick<NodeRecord, 'nodeId' | 'endpoint' | 'peerId' | 'addresses'>;

/** The endpoint and addresses that differ from the record, each with its old value; a peer ID that differs throws. */
function changedFields(registered: NodeRecord, wanted: NodeLocation, p2pKeyFile: string): string[] {
  if (registered.peerId !== wanted.peerId) {
    throw new NodeRegistrationError(
      'PEER_ID_DIFFERS',
      `node ${wanted.nodeId} of ${registered.mspId} is registered with peer ID ${registered.peerId}, but keys.p2p (${p2pKeyFile}) holds ` +
        `${wanted.peerId}: nothing was changed on chain. Restore the registered key from its backup; if a ` +
        `\`lianxin keys rotate --kind p2p\` was cut short (a .next file beside the key), run it again to finish it`,
    );
  }
  const changed: string[] = [];
  if (registered.endpoint !== wanted.endpoint) {
    changed.push(`endpoint ${wanted.endpoint} (was ${registered.endpoint})`);
  }
  if (registered.addresses.join(' ') !== wanted.addresses.join(' ')) {
    changed.push(`p2p addresses ${wanted.addresses.join(' ')} (was ${registered.addresses.join(' ')})`);
  }
  return changed;
}
