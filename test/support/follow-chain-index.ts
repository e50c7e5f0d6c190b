import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { ChainIndex, ChainIndexFollower } from '../../node/chain-index/index.ts';
import type { LianxinChain } from '../../node/ledger/index.ts';
import { createLogger } from '../../node/logging/index.ts';
import { openNodeDatabase } from '../../node/store/index.ts';

/**
 * Runs `use` on a chain index built from the chain by `chain`'s organisation, as its node would, in a fresh
 * database under `parentDir`.
 */
export async function withChainIndex<T>(
  chain: LianxinChain,
  parentDir: string,
  use: (index: ChainIndex) => Promise<T>,
): Promise<T> {
  const db = await openNodeDatabase(await mkdtemp(join(parentDir, 'chain-index-')));
  const index = await ChainIndex.open(db.chainIndex);
  const follower = new ChainIndexFollower({
    index,
    chain,
    logger: createLogger({ level: 'warn', destination: process.stderr }),
    retryInitialMs: 50,
    retryMaxMs: 500,
  });
  follower.start();
  try {
    return await use(index);
  } finally {
    await follower.stop();
    await db.close();
  }
}
