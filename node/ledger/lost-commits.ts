/**
 * What a node committed on chain and the chain no longer holds: the ledger restored from a backup taken before
 * (README "Backup and restore"). A restored chain holds the old chain's blocks below the backup's height and others
 * from there on, so a transaction the node saw commit at block b is still there if and only if the chain finds it
 * in block b. Walking the node's commits from the newest block down, the first one the chain still holds in its
 * block says the backup's height is above that block: every commit below it is held too. The walk asks the chain
 * once per lost transaction or transaction held elsewhere, plus once. Lost rows come in a run: past the first, each
 * is asked by GetBlockByTxID at once (`mayBeLost`), not by CommitStatus, which answers a missing one only when its
 * wait of a second ends — an hour for a day's 3,600 lost transactions, every submission waiting behind the walk.
 *
 * That holds only for commits the node made before the chain went back: a commit made on the restored chain, at
 * a block number the old chain also had, would stop the walk above commits it lost. Callers therefore walk before
 * each of their chain submissions (one question to the chain when nothing was lost), so that none of their
 * commits lands on a chain they have not walked.
 */
import { firstAvailableBlock, isNoSuchTransaction } from './errors.ts';
import type { LianxinChain } from './lianxin-chain.ts';

/**
 * A transaction the node saw commit: its ID, and the block it committed in. The node's own submission, not an earlier
 * transaction its answer names: `blockHolding` takes a peer's "below its snapshot" for held in `blockNumber`.
 */
export interface CommitRow {
  readonly blockNumber: bigint;
  readonly transactionId: string;
}

/**
 * The rows of `newestFirst` (ordered by block, newest first) whose transaction the chain does not hold, up to the
 * first it holds in the row's own block. A row whose transaction the chain holds in another block (the record was
 * written by an earlier transaction than the one whose block the row names) is held but says nothing of the rows
 * below it: the walk goes on.
 * @throws ChainError when the chain cannot answer (nothing is known of the rows not yet yielded).
 */
export async function* lostCommits<R extends CommitRow>(
  chain: Pick<LianxinChain, 'blockNumberOf'>,
  newestFirst: AsyncIterable<R>,
): AsyncGenerator<R> {
  let mayBeLost = false;
  for await (const row of newestFirst) {
    const held = await blockHolding(chain, row.transactionId, row.blockNumber, { mayBeLost });
    if (held === row.blockNumber) return;
    if (held !== undefined) continue;
    mayBeLost = true;
    yield row;
  }
}

/**
 * The block holding `transactionId`, or undefined when the chain has no such transaction. A gateway peer
 * bootstrapped from a ledger snapshot taken above `seenAt` (the block the node saw it commit in) keeps no index of it
 * but holds the chain it is in: `seenAt` is the answer (firstAvailableBlock).
 * @throws ChainError when the chain cannot answer.
 */
export async function blockHolding(
  chain: Pick<LianxinChain, 'blockNumberOf'>,
  transactionId: string,
  seenAt: bigint,
  options?: Parameters<LianxinChain['blockNumberOf']>[1],
): Promise<bigint | undefined> {
  try {
    return await chain.blockNumberOf(transactionId, options);
  } catch (err) {
    if (isNoSuchTransaction(err)) return undefined;
    const first = firstAvailableBlock(err);
    if (first !== undefined && seenAt < first) return seenAt;
    throw err;
  }
}

/** Why the chain does not hold a position; `sure` when the chain is past its block (a peer behind says nothing). */
export interface OffChain {
  readonly why: string;
  readonly sure: boolean;
}

/**
 * Why the chain does not hold `position` (a block and a transaction in it the node applied), undefined when it does:
 * a chain whose height is not past the block may only be behind (`sure: false`); one past it that holds the
 * transaction elsewhere or not at all lost that block (a ledger restored from an older backup). A position the node
 * learned from the same gateway peer is never behind that way on Fabric: the Gateway evaluates qscc on the highest
 * peer of its organisation, its own height read live (v2.5 internal/pkg/gateway/registry.go `evaluator`), so there
 * a height not past it means the peer's ledger went back (reset, rolled back, or the node moved to another peer);
 * a position learned from another node (a snapshot's) may be ahead of this node's peer.
 * @throws ChainError when the chain cannot answer.
 */
export async function positionOffChain(
  chain: Pick<LianxinChain, 'chainInfo' | 'blockNumberOf'>,
  position: { readonly blockNumber: bigint; readonly transactionId: string },
): Promise<OffChain | undefined> {
  const { height } = await chain.chainInfo();
  if (height <= position.blockNumber) return { why: `its height is ${String(height)}`, sure: false };
  const block = await blockHolding(chain, position.transactionId, position.blockNumber);
  if (block === undefined) return { why: `its ${String(height)} blocks hold no such transaction`, sure: true };
  if (block === position.blockNumber) return undefined;
  return { why: `that transaction is in its block ${String(block)}`, sure: true };
}
