/**
 * One institution's node in a local consortium, as npm start and the tests bring it up: its config written (or
 * kept), its node and keys registered by its admin, then started from the config file like any deployment.
 */
import { loadNodeConfig, type ConfigEnv } from '../config/index.ts';
import { createNode, type LianxinNode, type NodeOverrides } from '../node.ts';
import type { AdminChain } from './register-institution.ts';
import { registerNode } from './register-institution.ts';
import { writeLocalNodeConfig, type LocalNodeOptions } from './local-node-config.ts';

export interface StartLocalNodeOptions extends LocalNodeOptions {
  readonly asAdmin: AdminChain;
  /** Environment overrides of the written config (LIANXIN_*). */
  readonly env?: ConfigEnv;
  readonly overrides?: NodeOverrides;
}

export interface StartedLocalNode {
  readonly node: LianxinNode;
  readonly configFile: string;
}

export async function startLocalNode(options: Readonly<StartLocalNodeOptions>): Promise<StartedLocalNode> {
  const local = await writeLocalNodeConfig(options);
  const config = await loadNodeConfig(local.configFile, options.env ?? {});
  // Where the node will listen (node.yaml, edited or not, and the environment): other nodes dial what is registered.
  await registerNode(options.asAdmin, {
    mspId: options.org.mspId,
    node: options.node,
    shard: '0',
    keys: local.keys,
    ...(config.p2p && { p2pListen: config.p2p.listen }),
  });
  return { node: await createNode(config, options.overrides ?? {}), configFile: local.configFile };
}
