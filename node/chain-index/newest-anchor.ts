/**
 * Where the chain's anchors end, for a follower to know when its index has caught up: the block of the newest
 * anchor of any registered origin (each origin's latest checkpoint names its transaction; the chain keeps no
 * block number with it). One GetCheckpoint and one GetBlockByTxID per origin, once per start.
 */
import type { LianxinChain } from '../ledger/index.ts';

export async function newestAnchorBlock(
  chain: Pick<LianxinChain, 'registrySnapshot' | 'getCheckpoint' | 'blockNumberOf'>,
): Promise<bigint> {
  const { nodes } = await chain.registrySnapshot();
  const origins = [...new Set(nodes.map((node) => node.origin))];
  const blocks = await Promise.all(
    origins.map(async (origin) => {
      const latest = await chain.getCheckpoint(origin);
      return latest === undefined ? -1n : chain.blockNumberOf(latest.txId);
    }),
  );
  return blocks.reduce((newest, block) => (block > newest ? block : newest), -1n);
}
