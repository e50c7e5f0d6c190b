export type NodeStoreErrorCode =
  /** The store's files are damaged or missing (CURRENT, MANIFEST, a table): the node cannot start on it. */
  | 'STORE_CORRUPT'
  /** Another process holds the store open (LevelDB's LOCK). */
  | 'STORE_LOCKED'
  /** The store could not be read for another reason (permissions, the disk). */
  | 'STORE_UNREADABLE'
  /** A restore into the data dir was started and did not finish: the store is not there whole. */
  | 'STORE_INCOMPLETE';

/**
 * The node's database could not be opened. The message is one line for the operator: the store's path, what is
 * wrong, and what to do; the LevelDB error is the `cause`. Callers branch on `code`.
 */
export class NodeStoreError extends Error {
  override readonly name = 'NodeStoreError';
  constructor(
    readonly code: NodeStoreErrorCode,
    /** The store's directory. */
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type StorageFaultCode =
  /** The disk is full, or its free space is below the configured watermark: freeing space resolves it. */
  | 'STORAGE_FULL'
  /** The disk failed a write for another reason (EIO, a read-only remount): it may pass, or need an operator. */
  | 'STORAGE_ERROR';

/**
 * The node's store cannot take writes now: a state the node recovers from by itself once writes succeed again
 * (storage-guard.ts), not a failure of the request. `retryAfterMs` is when the client may try again; `reason` is
 * the operator's line (also in /healthz), the LevelDB or file-system error the `cause`.
 */
export class StorageFaultError extends Error {
  override readonly name = 'StorageFaultError';
  constructor(
    readonly code: StorageFaultCode,
    message: string,
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
