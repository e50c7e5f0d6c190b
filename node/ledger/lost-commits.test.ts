import { describe, expect, it } from 'vitest';
import { ChainError } from './errors.ts';
import { lostCommits, type CommitRow } from './lost-commits.ts';

/**
 * A restored chain's answers: the block holding each transaction it holds, qscc's refusal for any other. Asked, each
 * ID; with " at once" when asked as one that may be lost (by GetBlockByTxID, not after CommitStatus's wait).
 */
function restoredChain(holds: ReadonlyMap<string, bigint>) {
  const asked: string[] = [];
  return {
    asked,
    chain: {
      blockNumberOf: (transactionId: string, options?: { readonly mayBeLost?: boolean }) => {
        asked.push(options?.mayBeLost === true ? `${transactionId} at once` : transactionId);
        const block = holds.get(transactionId);
        return block === undefined
          ? Promise.reject(new ChainError('REJECTED', `GetBlockByTxID: no such transaction ID [${transactionId}]`))
          : Promise.resolve(block);
      },
    },
  };
}

async function* newestFirst(rows: readonly CommitRow[]): AsyncGenerator<CommitRow> {
  for (const row of rows) {
    await Promise.resolve();
    yield row;
  }
}

const row = (blockNumber: number, transactionId: string): CommitRow => ({
  blockNumber: BigInt(blockNumber),
  transactionId,
});

describe('lostCommits', () => {
  it('yields the rows the chain lost, walks past one it holds in another block, and stops at one held in its own', async () => {
    // The backup's height is 4: blocks 0–3 are the old chain's, the rest the restored chain's own.
    const { chain, asked } = restoredChain(
      new Map([
        ['earlier-tx', 1n],
        ['tx-3', 3n],
        ['tx-2', 2n],
      ]),
    );
    const rows = [
      row(6, 'tx-6'),
      // A record an earlier transaction wrote (its commit held at block 1), the row naming the block it was seen in.
      row(5, 'earlier-tx'),
      row(4, 'tx-4'),
      row(3, 'tx-3'),
      row(2, 'tx-2'),
    ];

    const lost: CommitRow[] = [];
    for await (const gone of lostCommits(chain, newestFirst(rows))) lost.push(gone);

    expect(lost).toEqual([row(6, 'tx-6'), row(4, 'tx-4')]);
    // Once per lost row, once per row held elsewhere, and once for the row that stops the walk: none below it. Past
    // the first lost row, each at once.
    expect(asked).toEqual(['tx-6', 'earlier-tx at once', 'tx-4 at once', 'tx-3 at once']);
  });

  it('stops at once, after one question, when the chain holds the newest row in its block', async () => {
    const { chain, asked } = restoredChain(new Map([['tx-9', 9n]]));
    const lost: CommitRow[] = [];
    for await (const gone of lostCommits(chain, newestFirst([row(9, 'tx-9'), row(8, 'tx-8')]))) lost.push(gone);
    expect(lost).toEqual([]);
    expect(asked).toEqual(['tx-9']);
  });
});
