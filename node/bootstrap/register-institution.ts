/**
 * Puts an institution on the chain's registry, idempotently: the operator's admin registers organisations
 * (its own first, which bootstraps an empty registry), each organisation's admin registers its node and the
 * node's log and receipt keys. Run again, it registers only what is missing.
 */
import { sha256Hex } from '../../network/crypto/index.ts';
import type { Organization as ConsortiumOrg, OrgNode } from '../../network/pki/index.ts';
import type { LianxinChain } from '../ledger/index.ts';
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

/** The organisation's admin registers its node (owning its log origin) and the node's keys, if missing. */
export async function registerNode(asAdmin: AdminChain, registration: NodeRegistration): Promise<string[]> {
  const { mspId, node, shard, keys } = registration;
  const p2pPort =
    registration.p2pListen === undefined ? node.ports.p2p : Number(registration.p2pListen.split(':').at(-1));
  const p2pHost = registration.p2pListen?.slice(0, registration.p2pListen.lastIndexOf(':')) ?? '127.0.0.1';
  const chain = await asAdmin(mspId);
  const done: string[] = [];
  const nodes = await chain.listNodes(mspId);
  if (!nodes.some((n) => n.nodeId === node.name)) {
    await chain.registerNode({
      nodeId: node.name,
      endpoint: `${node.host}:${node.ports.grpc}`,
      peerId: keys.peerId,
      addresses: p2pPort === undefined ? [] : [`/ip4/${p2pHost}/tcp/${p2pPort}`],
      shard,
    });
    done.push(`node ${node.name}`);
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
