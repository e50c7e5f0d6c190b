export type LedgerStoreErrorCode =
  /** The block does not extend the chain: wrong number or previous hash. */
  | 'NOT_NEXT_BLOCK'
  /** The block lacks its TRANSACTIONS_FILTER or it does not match the transactions. */
  | 'BAD_BLOCK'
  /** What is on disk contradicts itself: a block that does not hash as its neighbours say, a savepoint out of step. */
  | 'CORRUPT'
  /** LevelDB itself cannot open the store or read a value of it (a damaged table, manifest or log). */
  | 'UNREADABLE'
  /** Another process holds the store open (LevelDB allows one per directory). */
  | 'LOCKED'
  | 'CLOSED';

/** A failure of the ledger's block and state store; callers branch on `code`. */
export class LedgerStoreError extends Error {
  override readonly name = 'LedgerStoreError';
  constructor(
    readonly code: LedgerStoreErrorCode,
    message: string,
    options?: ErrorOptions & { readonly blockNum?: number },
  ) {
    super(message, options);
    this.blockNum = options?.blockNum;
  }
  /** The block the failure concerns, when there is one. */
  readonly blockNum: number | undefined;
}

/**
 * LevelDB's own words for a failure raised by abstract-level (`LEVEL_CORRUPTION`, `LEVEL_IO_ERROR`, ...; an open
 * failure carries them as its cause), e.g. "Corruption: not an sstable (bad magic number)"; undefined for anything
 * that is not a LevelDB error.
 */
export function levelFailure(err: unknown): { readonly code: string; readonly reason: string } | undefined {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'string' || !err.code.startsWith('LEVEL_')) {
    return undefined;
  }
  return levelFailure(err.cause) ?? { code: err.code, reason: err.message.split('\n')[0] ?? err.code };
}

/**
 * Whether a failed write is the disk's (full: ENOSPC, or failing: EIO, a read-only remount) rather than the
 * block's: the same commit can succeed once the disk takes writes again. LevelDB reports these as
 * `LEVEL_IO_ERROR` ("IO error: …/000031.log: No space left on device").
 */
export function isStorageFault(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code } = e as { code?: unknown };
    if (code === 'LEVEL_IO_ERROR' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO' || code === 'EROFS') {
      return true;
    }
  }
  return false;
}
