export type NodeStoreErrorCode =
  /** The store's files are damaged or missing (CURRENT, MANIFEST, a table): the node cannot start on it. */
  | 'STORE_CORRUPT'
  /** Another process holds the store open (LevelDB's LOCK). */
  | 'STORE_LOCKED'
  /** The store could not be read for another reason (permissions, the disk). */
  | 'STORE_UNREADABLE';

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
