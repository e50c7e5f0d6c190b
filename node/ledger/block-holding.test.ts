/**
 * Whether the chain holds a transaction the node saw commit, asked of a Fabric gateway peer that joined the channel
 * from a ledger snapshot: it keeps no transaction index below the snapshot and says so in blkstorage's words, which
 * must read as "held" (the transaction is in the chain the snapshot was taken of), not as an error that stops the
 * lost-commit walk — and with it every receipt and notarization submission — for good.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChainError } from './errors.ts';
import { blockHolding, lostCommits, type CommitRow } from './lost-commits.ts';

const FIRST_AVAILABLE = 10n;

/** A chain whose peer was bootstrapped from a snapshot at FIRST_AVAILABLE, holding `held` above it. */
function snapshotPeer(held: ReadonlyMap<string, bigint>) {
  const asked: string[] = [];
  return {
    asked,
    blockNumberOf: (transactionId: string): Promise<bigint> => {
      asked.push(transactionId);
      const block = held.get(transactionId);
      if (block !== undefined) return Promise.resolve(block);
      // Fabric's retrieveBlockByTxID for a transaction below the snapshot, through qscc (the node's ChainError).
      const below = transactionId.startsWith('old-');
      return Promise.reject(
        new ChainError(
          'REJECTED',
          below
            ? `GetBlockByTxID ${transactionId}: Failed to get block for txID ${transactionId}, error details for the ` +
                `TXID [${transactionId}] not available. Ledger bootstrapped from a snapshot. First available block = ` +
                `[${String(FIRST_AVAILABLE)}]`
            : `GetBlockByTxID ${transactionId}: no such transaction ID [${transactionId}] in index`,
        ),
      );
    },
  };
}

describe('a transaction below the gateway peer’s ledger snapshot', () => {
  it('is held in the block the node saw it commit in', async () => {
    const chain = snapshotPeer(new Map());
    expect(await blockHolding(chain, 'old-tx', 4n)).toBe(4n);
    expect(await blockHolding(chain, 'lost-tx', 12n)).toBeUndefined();
  });

  it('is an error when the node saw it commit at or above the snapshot (the peer should have it)', async () => {
    await expect(blockHolding(snapshotPeer(new Map()), 'old-tx', FIRST_AVAILABLE)).rejects.toThrow(
      /Ledger bootstrapped from a snapshot/,
    );
  });

  it('ends the lost-commit walk as a held row does: the lost rows above it are yielded, none below is asked', async () => {
    const chain = snapshotPeer(new Map([['kept-tx', 13n]]));
    const rows: CommitRow[] = [
      { blockNumber: 14n, transactionId: 'lost-tx' },
      { blockNumber: 6n, transactionId: 'old-tx' },
      { blockNumber: 3n, transactionId: 'older-tx' },
    ];
    const lost: CommitRow[] = [];
    for await (const row of lostCommits(chain, Readable.from(rows) as AsyncIterable<CommitRow>)) lost.push(row);
    expect(lost.map((r) => r.transactionId)).toEqual(['lost-tx']);
    expect(chain.asked).toEqual(['lost-tx', 'old-tx']);
  });
});
