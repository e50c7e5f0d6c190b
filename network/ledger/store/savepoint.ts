/**
 * The savepoint: the height, last header hash and COMMIT_HASH of the chain, written in the same LevelDB batch as
 * the block it names, so on reopen it is the truth about how far the store got.
 */
import { LedgerStoreError } from './errors.ts';

export interface Savepoint {
  readonly height: number;
  readonly lastHeaderHash: Buffer;
  readonly commitHash: Buffer;
}

export function encodeSavepoint(savepoint: Savepoint): Buffer {
  return Buffer.from(
    JSON.stringify({
      height: savepoint.height,
      lastHeaderHash: savepoint.lastHeaderHash.toString('hex'),
      commitHash: savepoint.commitHash.toString('hex'),
    }),
  );
}

/** Read from disk, so damaged bytes are CORRUPT rather than a SyntaxError. */
export function decodeSavepoint(raw: Buffer): Savepoint {
  let parsed: { height?: unknown; lastHeaderHash?: unknown; commitHash?: unknown } | null;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as typeof parsed;
  } catch {
    parsed = null;
  }
  const { height, lastHeaderHash, commitHash } = parsed ?? {};
  if (
    typeof height !== 'number' ||
    !Number.isSafeInteger(height) ||
    height < 1 ||
    typeof lastHeaderHash !== 'string' ||
    typeof commitHash !== 'string'
  ) {
    throw new LedgerStoreError('CORRUPT', 'the savepoint is malformed');
  }
  return { height, lastHeaderHash: Buffer.from(lastHeaderHash, 'hex'), commitHash: Buffer.from(commitHash, 'hex') };
}
