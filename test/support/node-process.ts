/**
 * An institution's node in a child process (node-child.ts) against a test network's ledger, so that a test can
 * `kill -9` it mid-stream and start it again on the same data dir. Its config is written and registered once.
 */
import { consortiumLedger, registerNode, writeLocalNodeConfig } from '../../node/bootstrap/index.ts';
import { CHAINCODE_NAME } from './chaincode-network.ts';
import { spawnListening, type ListeningChild } from './listening-child.ts';
import type { TestNetwork } from './test-node.ts';

const CHILD_ENTRY = new URL('./node-child.ts', import.meta.url).pathname;
const SHARD = '0';

export interface NodeProcessConfig {
  readonly configFile: string;
  /** The node's log origin, as registered on the chain. */
  readonly origin: string;
}

/**
 * Writes the config of `mspId`'s node0 (free gRPC and metrics ports: each start gets new ones) and registers the
 * node and its keys on the chain.
 */
export async function writeNodeProcessConfig(
  net: TestNetwork,
  mspId: string,
  settings: Readonly<Record<string, unknown>> = {},
  { p2pListen = null }: { readonly p2pListen?: string | null } = {},
): Promise<NodeProcessConfig> {
  const { consortium, cryptoDir, dir } = net.members;
  const org = consortium.organizations.find((o) => o.mspId === mspId);
  const node = org?.nodes[0];
  if (!org || !node) throw new Error(`${mspId} has no node in the consortium`);
  const local = await writeLocalNodeConfig({
    consortium,
    org,
    node,
    cryptoDir,
    dataRoot: dir,
    ledger: consortiumLedger(consortium, cryptoDir, net.ledger.address, CHAINCODE_NAME),
    grpcListen: '127.0.0.1:0',
    metricsListen: '127.0.0.1:0',
    // No p2p unless asked, and then on the port given: no fixed consortium port shared between tests.
    p2pListen,
    settings: { log: { level: 'warn' }, ...settings },
  });
  await registerNode((admin) => net.chain(admin, 'Admin'), {
    mspId,
    node,
    shard: SHARD,
    keys: local.keys,
    ...(p2pListen === null ? {} : { p2pListen }),
  });
  return { configFile: local.configFile, origin: `lianxin/${mspId}/${SHARD}` };
}

/** Starts the node of `config` in a child process; resolves once its gRPC API listens. */
export function startNodeProcess(
  config: NodeProcessConfig,
  { enospcWhile }: { readonly enospcWhile?: string } = {},
): Promise<ListeningChild> {
  return spawnListening(CHILD_ENTRY, [config.configFile, ...(enospcWhile ? ['--enospc-while', enospcWhile] : [])]);
}
