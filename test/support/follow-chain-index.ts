import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { ChainIndex, ChainIndexFollower } from '../../node/chain-index/index.ts';
import type { LianxinChain } from '../../node/ledger/index.ts';
import { createLogger } from '../../node/logging/index.ts';
import { openNodeDatabase, type NodeDatabase } from '../../node/store/index.ts';

/** Runs `use` on the chain index in `db` while a follower keeps it up with the chain as `chain`'s organisation. */
export async function followChainIndex<T>(
  chain: LianxinChain,
  db: NodeDatabase,
  use: (index: ChainIndex) => Promise<T>,
): Promise<T> {
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
  }
}

/** followChainIndex in a fresh database under `parentDir`, as a node that joins now would build it. */
export async function withChainIndex<T>(
  chain: LianxinChain,
  parentDir: string,
  use: (index: ChainIndex) => Promise<T>,
): Promise<T> {
  const db = await openNodeDatabase(await mkdtemp(join(parentDir, 'chain-index-')));
  try {
    return await followChainIndex(chain, db, use);
  } finally {
    await db.close();
  }
}
