/**
 * The start-up check of a ledger store: the last TIP_BLOCKS blocks must be readable, numbered in sequence, each
 * hashing to its data and linked to the one before, and the savepoint must name exactly the last block present,
 * with its header hash and COMMIT_HASH. A flipped byte, a zeroed table or a savepoint out of step with the blocks
 * is refused here instead of being served. The cost is bounded by the tip, not the chain: the full audit from
 * block 0 is verify-chain's job (validation/verify-chain.ts).
 */
import { common } from '@hyperledger/fabric-protos';
import { blockDataHash, blockHeaderHash, getTransactionsFilter, metadataSlot } from '../block/index.ts';
import { LedgerStoreError } from './errors.ts';
import type { Savepoint } from './savepoint.ts';

/** How many of the last blocks start-up re-hashes: the blocks a crash or a partial restore would touch. */
export const TIP_BLOCKS = 32;

/** What the check reads; both throw LedgerStoreError UNREADABLE when LevelDB cannot read. */
export interface TipReader {
  blockBytes(number: number): Promise<Uint8Array | undefined>;
  /** The highest block number present, undefined when there is none. */
  lastBlockNumber(): Promise<number | undefined>;
}

/**
 * Checks the tip of the store against `savepoint` (undefined: the store holds no savepoint) and returns the last
 * block's header, undefined for an empty store. Throws LedgerStoreError CORRUPT or UNREADABLE naming the block.
 */
export async function checkTip(
  reader: TipReader,
  savepoint: Savepoint | undefined,
  tipBlocks: number = TIP_BLOCKS,
): Promise<common.BlockHeader | undefined> {
  const height = savepoint?.height ?? 0;
  const last = await reader.lastBlockNumber();
  if (last !== undefined && last >= height) {
    throw corrupt(last, `block ${String(last)} is beyond the savepoint, which names ${String(height)} blocks`);
  }
  if (!savepoint) return undefined;
  if (last === undefined || last < height - 1) {
    const end = last === undefined ? 'the block store is empty' : `the block store ends at block ${String(last)}`;
    throw corrupt(height - 1, `the savepoint names ${String(height)} blocks but ${end}`);
  }

  let previous: { readonly number: number; readonly hash: Buffer } | undefined;
  let header: common.BlockHeader | undefined;
  let block: common.Block | undefined;
  for (let n = Math.max(0, height - tipBlocks); n < height; n++) {
    ({ block, header } = await readBlock(reader, n));
    const envelopes = block.getData()?.getDataList_asU8() ?? [];
    if (!blockDataHash(envelopes).equals(header.getDataHash_asU8())) {
      throw corrupt(n, `block ${String(n)}'s data hash does not match its data`);
    }
    if (getTransactionsFilter(block).length !== envelopes.length) {
      throw corrupt(n, `block ${String(n)}'s transaction flags do not match its transactions`);
    }
    // The first block of the window links to a block outside it, which is not read: only block 0 has no link.
    const previousHash = Buffer.from(header.getPreviousHash_asU8());
    const linked = n === 0 ? previousHash.length === 0 : previous === undefined || previousHash.equals(previous.hash);
    if (!linked) {
      throw corrupt(n, `block ${String(n)}'s previous hash is not block ${String(n - 1)}'s header hash`);
    }
    previous = { number: n, hash: blockHeaderHash(header) };
  }
  if (!header || !block || !previous) throw corrupt(height - 1, `block ${String(height - 1)} is missing`);
  if (!previous.hash.equals(savepoint.lastHeaderHash)) {
    throw corrupt(height - 1, `block ${String(height - 1)}'s header hash is not the one the savepoint recorded`);
  }
  if (!Buffer.from(commitHashOf(block)).equals(savepoint.commitHash)) {
    throw corrupt(height - 1, `block ${String(height - 1)}'s COMMIT_HASH is not the one the savepoint recorded`);
  }
  return header;
}

async function readBlock(
  reader: TipReader,
  n: number,
): Promise<{ readonly block: common.Block; readonly header: common.BlockHeader }> {
  const bytes = await reader.blockBytes(n);
  if (!bytes) throw corrupt(n, `block ${String(n)} is missing`);
  let block: common.Block;
  try {
    block = common.Block.deserializeBinary(bytes);
  } catch {
    throw corrupt(n, `block ${String(n)} does not decode as a block`);
  }
  const header = block.getHeader();
  if (header?.getNumber() !== n) throw corrupt(n, `block ${String(n)}'s header does not carry its number`);
  return { block, header };
}

function commitHashOf(block: common.Block): Uint8Array {
  try {
    return common.Metadata.deserializeBinary(
      metadataSlot(block, common.BlockMetadataIndex.COMMIT_HASH),
    ).getValue_asU8();
  } catch {
    return new Uint8Array();
  }
}

function corrupt(blockNum: number, message: string): LedgerStoreError {
  return new LedgerStoreError('CORRUPT', message, { blockNum });
}
