/**
 * Where the chain's anchors end, for a follower to know when its index has caught up: the block of the newest
 * anchor of any registered origin (each origin's latest checkpoint names its transaction; the chain keeps no
 * block number with it). One GetCheckpoint and one blockNumberOf (CommitStatus, else GetBlockByTxID) per origin, at
 * each start and each reopening after a failure.
 * An origin whose block the ledger cannot name below its snapshot is left out, with a warning: a peer that joined
 * the channel from a Fabric ledger snapshot has no block index below it ("Ledger bootstrapped from a snapshot"), and
 * one idle institution anchored before that would otherwise keep the follower from ever opening its stream. Its
 * anchor is older than the snapshot, so it does not end the chain's anchors anyway, unless it is the only one.
 */
import { firstAvailableBlock, type LianxinChain } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';

export async function newestAnchorBlock(
  chain: Pick<LianxinChain, 'registrySnapshot' | 'getCheckpoint' | 'blockNumberOf'>,
  logger: Logger,
): Promise<bigint> {
  const { nodes } = await chain.registrySnapshot();
  const origins = [...new Set(nodes.map((node) => node.origin))];
  const blocks = await Promise.all(
    origins.map(async (origin) => {
      const latest = await chain.getCheckpoint(origin);
      if (latest === undefined) return -1n;
      try {
        return await chain.blockNumberOf(latest.txId);
      } catch (err) {
        // Any other failure (the ledger down or busy, a refusal) is retried by the follower: left out, an origin
        // could leave no anchor at all, and the follower would take itself for caught up.
        if (firstAvailableBlock(err) === undefined) throw err;
        logger.warn(
          { err, origin, transactionId: latest.txId },
          "the ledger does not name the block of an origin's latest anchor: left out of where the chain's anchors end",
        );
        return -1n;
      }
    }),
  );
  return blocks.reduce((newest, block) => (block > newest ? block : newest), -1n);
}
